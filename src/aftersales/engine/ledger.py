"""The effects ledger: every external effect (refund, platform note, platform action) exactly once.

``effects.effect_key`` is the primary key and the idempotency key. States::

    intended ──► sent ──► confirmed | failed
                  │ ▲
                  ▼ │ (lookup first)
                unknown

Executing one effect (:func:`execute_effect`):

1. load the row; ``confirmed``/``failed`` → done: a duplicate never calls the platform again;
2. ``sent``/``unknown`` → the earlier attempt may have reached the platform, so ask first
   (``ShopClient.find_refund(order, key)``: Shopify by the ``@idempotent`` key, WooCommerce by
   the ``meta_data`` marker the plugin writes): found → ``confirmed``; not found → go on;
3. mark ``sent`` and **commit**, then call the platform with the key, then record
   ``confirmed`` (with the platform's answer) and the workflow's ``on_effect`` handlers in one
   transaction;
4. ``OutcomeUnknown`` (timeout or lost answer after sending) → ``unknown``, retried later
   from step 2; ``TransientPlatformError`` (the platform says nothing happened) → back to
   ``intended``, retried with backoff, ``failed`` after ``max_effect_attempts``; any other
   ``PlatformError`` → ``failed`` and the workflow is told. An exception that is not a
   ``PlatformError`` (a plugin bug after the call) counts as ``unknown``: it may have worked.

Who may touch a ``sent`` row: the ``sent`` mark carries the executor id and the process
incarnation. This process skips a key it is executing right now (an in-memory set); a row
marked by this executor id in an earlier life (the process was killed and restarted with
the same id) is looked up at once; a row marked by another executor is left alone for
``effect_lease`` seconds (it may still be waiting for the platform's answer) and looked up
after that. Notes and platform actions have no lookup: a ``note`` may be written twice after
a crash (harmless), a ``platform_action`` gets the effect key so the plugin can make it
idempotent (Shopify's return mutations are).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog

from aftersales.engine._info import EffectInfo
from aftersales.engine.conflicts import is_conflict, retry_conflicts
from aftersales.engine.context import AfterCommit, StepContext
from aftersales.engine.registry import registry
from aftersales.platforms import (
    OutcomeUnknown,
    PlatformError,
    RefundRequest,
    ShopClient,
    TransientPlatformError,
)
from aftersales.store.models import Effect, Shop

if TYPE_CHECKING:
    from aftersales.engine.runtime import Runtime

log = structlog.get_logger("aftersales.engine.ledger")

FINAL = frozenset({"confirmed", "failed"})


@dataclass(frozen=True)
class _Plan:
    key: str
    kind: str
    shop_id: str
    case_id: str | None
    request: dict[str, Any]
    lookup: bool
    """The effect may already exist at the platform: ask before calling."""


@dataclass(frozen=True)
class _Outcome:
    state: str
    """confirmed | failed | unknown | transient."""
    result: dict[str, Any] | None = None
    error: str | None = None


def execute_effect(rt: Runtime, effect_key: str) -> str:
    """Perform one effect; returns the row's new state, or ``already_done`` (final before),
    ``busy`` (this process is on it), ``deferred`` (another executor's lease), ``skipped``,
    ``lost`` (another executor took it over meanwhile) or ``retry``."""
    if not rt.begin_inflight(effect_key):
        return "busy"
    try:
        plan = retry_conflicts(lambda: _begin(rt, effect_key))
        if isinstance(plan, str):
            return plan
        outcome = _perform(rt, plan)
        return _settle(rt, plan, outcome)
    finally:
        rt.end_inflight(effect_key)


def _sending(row: Effect) -> dict[str, Any]:
    mark = (row.result or {}).get("sending")
    return mark if isinstance(mark, dict) else {}


def _begin(rt: Runtime, key: str) -> _Plan | str:
    with rt.transaction() as session:
        row = session.get(Effect, key, with_for_update=True)
        if row is None:
            return "skipped"
        if row.state in FINAL:
            return "already_done"
        lookup = row.state == "unknown"
        if row.state == "sent":
            mark = _sending(row)
            ours = mark.get("executor") == rt.executor_id or mark.get("incarnation") == rt.incarnation
            if not ours and time.time() < float(mark.get("at", 0.0)) + rt.settings.effect_lease:
                return "deferred"
            lookup = True
        row.state = "sent"
        row.attempts += 1
        row.updated_at = rt.clock.now()
        row.result = {
            "sending": {"executor": rt.executor_id, "incarnation": rt.incarnation, "at": time.time()}
        }
        return _Plan(
            key=row.effect_key,
            kind=row.kind,
            shop_id=row.shop_id,
            case_id=row.case_id,
            request=dict(row.request or {}),
            lookup=lookup,
        )


def _client(rt: Runtime, shop_id: str) -> ShopClient | None:
    with rt.read_session() as session:
        shop = session.get(Shop, shop_id)
        return rt.client_for(shop) if shop is not None else None


def _perform(rt: Runtime, plan: _Plan) -> _Outcome:
    try:
        client = _client(rt, plan.shop_id)
        if client is None:
            return _Outcome("failed", error=f"shop {plan.shop_id} has no platform credentials")
        return _call(client, plan)
    except OutcomeUnknown as exc:
        return _Outcome("unknown", error=f"outcome unknown: {exc}")
    except TransientPlatformError as exc:
        # after a lookup-requiring state the earlier call may still have worked: stay unknown
        return _Outcome("unknown" if plan.lookup else "transient", error=f"transient: {exc}")
    except PlatformError as exc:
        return _Outcome("failed", error=f"{type(exc).__name__}: {exc}")
    except Exception as exc:
        log.exception("effect_call_crashed", effect_key=plan.key)
        return _Outcome("unknown", error=f"{type(exc).__name__} after the call: {exc}")


def _call(client: ShopClient, plan: _Plan) -> _Outcome:
    request = plan.request
    if plan.kind == "refund":
        refund = RefundRequest.model_validate(request)
        if plan.lookup:
            found = client.find_refund(refund.order_id, plan.key)
            if found is not None:
                return _Outcome(
                    "confirmed", result={**found.model_dump(mode="json"), "found_by_lookup": True}
                )
        record = client.create_refund(refund)
        return _Outcome("confirmed", result=record.model_dump(mode="json"))
    if plan.kind == "note":
        client.add_note(
            str(request["order_id"]),
            str(request["text"]),
            customer_visible=bool(request.get("customer_visible")),
        )
        return _Outcome("confirmed", result={"order_id": str(request["order_id"])})
    if plan.kind == "platform_action":
        answer = client.platform_action(str(request["action"]), dict(request.get("params") or {}), plan.key)
        return _Outcome("confirmed", result=dict(answer or {}))
    return _Outcome("failed", error=f"the ledger cannot execute effects of kind {plan.kind!r}")


def _settle(rt: Runtime, plan: _Plan, outcome: _Outcome) -> str:
    try:
        return retry_conflicts(lambda: _write(rt, plan, outcome, run_handlers=True))
    except Exception as exc:
        if is_conflict(exc):
            raise
        # The platform's answer must be kept even when a workflow handler is broken: record
        # the final state without the handlers and say so on the row and in the log.
        log.exception("on_effect_handler_failed", effect_key=plan.key)
        note = f"on_effect handler failed: {type(exc).__name__}: {exc}"
        return retry_conflicts(lambda: _write(rt, plan, outcome, run_handlers=False, note=note))


def _write(
    rt: Runtime, plan: _Plan, outcome: _Outcome, *, run_handlers: bool, note: str | None = None
) -> str:
    after = AfterCommit()
    final: dict[str, object] | None = None
    with rt.transaction() as session:
        row = session.get(Effect, plan.key, with_for_update=True)
        if row is None or row.state != "sent" or _sending(row).get("incarnation") != rt.incarnation:
            log.warning("effect_taken_over", effect_key=plan.key)
            return "lost"
        row.updated_at = rt.clock.now()
        state, error = outcome.state, outcome.error
        if state == "transient":
            if row.attempts >= rt.settings.max_effect_attempts:
                state, error = "failed", f"gave up after {row.attempts} attempts; last: {error}"
            else:
                state = "intended"
        if state == "unknown" and row.attempts >= rt.settings.max_effect_attempts:
            error = f"{error}; still unknown after {row.attempts} attempts: check the shop by hand"
        row.state = state
        row.error = error if note is None else f"{error}; {note}" if error else note
        row.result = outcome.result if state in FINAL else None
        if state in FINAL:
            info = EffectInfo(
                effect_key=row.effect_key,
                kind=row.kind,
                shop_id=row.shop_id,
                case_id=row.case_id,
                state=state,
                request=dict(row.request or {}),
                result=row.result,
                error=error,
                attempts=row.attempts,
            )
            shop = session.get(Shop, row.shop_id)
            if run_handlers and shop is not None:
                ctx = StepContext(session, rt, shop, after=after)
                for handler in registry.effect_handlers(row.kind):
                    handler(ctx, info)
            final = {
                "effect_key": row.effect_key,
                "kind": row.kind,
                "shop_id": row.shop_id,
                "case_id": row.case_id,
                "state": state,
                "result": row.result,
                "error": row.error,
                "amount": row.amount,
                "currency": row.currency,
            }
    rt.after_commit(after)
    if final is not None:
        rt.plugins.effect_done(final)
        log.info("effect_settled", effect_key=plan.key, state=final["state"])
    else:
        log.warning("effect_not_settled", effect_key=plan.key, state=state, error=error)
    return state if state in FINAL or state == "unknown" else "retry"
