"""Who may return what, until when, and whether a person has to look at it.

Pure functions over the domain (no database, no engine), so the rules can be tested as
tables and reused by the built-in ``aftersales_return_eligibility`` plugin and by the
merchant preview. Three questions, in the order a request meets them:

1. **Is the request well formed?** (:func:`validate_request`) — every line belongs to the
   order, no more units than were bought minus those already in other returns or refunded
   in the shop admin. A failure is an :class:`InvalidRequest` with one sentence the caller
   shows; nothing is written.
2. **Is it inside a window?** (:func:`decide`) — the statutory withdrawal window
   (14 days from taking possession of the LAST shipment, +12 months when the consumer was
   not informed of the right, art. 27-29 u.p.k. / art. 9-10 of Directive 2011/83/EU) or the
   shop's commercial window, which may be longer, never shorter (DESIGN §6).
3. **May it be approved without a person?** — a withdrawal inside the window needs no
   approval by law; a commercial return is auto-approved under the policy's
   ``returns.auto_approve`` (value ceiling and reasons).

The law is applied after any plugin answered (:func:`apply_statutory_floor`): a plugin may
send a statutory withdrawal to a person, but never decline it on its own.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from aftersales.decisions import Eligibility
from aftersales.domain import (
    Authorization,
    Case,
    CaseLine,
    CaseType,
    Logistics,
    Money,
    Order,
    allocate,
    total,
)
from aftersales.policy.schema import Policy
from aftersales.workflows.returns.states import VOID

WITHDRAWAL_WINDOW = "withdrawal_window"
"""``Case.deadlines`` key: the end of the statutory withdrawal window (end of its last day)."""
RETURN_WINDOW = "return_window"
"""``Case.deadlines`` key: the end of the shop's commercial return window (never before the statutory one)."""
STATEMENT_AT = "statement_at"
"""``Case.data`` key: when the withdrawal statement (or return request) was received, ISO 8601."""


class InvalidRequest(ValueError):
    """A request that cannot become a case as asked; ``reason`` is shown to the caller."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RequestedLine(BaseModel):
    """What the customer (or the platform) asks to return: units of one order line."""

    model_config = ConfigDict(frozen=True)

    line_item_id: str
    quantity: int = Field(default=1)
    reason: str | None = None


@dataclass(frozen=True)
class ReturnRules:
    """The part of the shop policy that decides returns (built from ``policy.returns``)."""

    window_days: int = 14
    excluded_tags: frozenset[str] = frozenset()
    auto_approve_max_value: Money | None = None
    """None: no commercial return is approved automatically."""
    auto_approve_reasons: frozenset[str] = frozenset()
    """Empty: any reason qualifies (the value ceiling alone decides)."""
    timezone: str = "UTC"
    """The shop's time zone: a window's last day is a local date."""

    def last_day(self, end: datetime) -> date:
        """The last local day of a window that ends at ``end`` (the first instant after it)."""
        return (end - timedelta(microseconds=1)).astimezone(ZoneInfo(self.timezone)).date()


@dataclass
class Decision:
    """:class:`Eligibility` plus the trace of rules that produced it (kept on the case)."""

    eligible: bool
    auto_approve: bool
    reasons: list[str] = field(default_factory=list)

    def freeze(self) -> Eligibility:
        return Eligibility(
            eligible=self.eligible, auto_approve=self.auto_approve, reasons=tuple(self.reasons)
        )


# -- 1. quantities ------------------------------------------------------------------------------


def external_refund_units(order: Order, absorbed: Iterable[str] = ()) -> Counter[str]:
    """Units refunded at the platform outside any case of ours (refunds without our effect key).

    ``absorbed`` are refund ids a case already took over (a Shopify return refunded in the
    admin): those units are counted through the case, not twice.
    """
    skip = set(absorbed)
    units: Counter[str] = Counter()
    for refund in order.refunds:
        if refund.effect_key or refund.id in skip:
            continue
        for line_id, qty in refund.line_quantities.items():
            units[line_id] += qty
    return units


def units_in_cases(cases: Iterable[Case], *, exclude_case_id: str | None = None) -> Counter[str]:
    """Units of each order line held by return cases that are not void (declined, rejected...).

    Units a merchant declined inside a partly approved case are free again too.
    """
    units: Counter[str] = Counter()
    for case in cases:
        if case.id == exclude_case_id or case.type not in RETURN_TYPES:
            continue
        if case.status in VOID:
            continue
        for line in case.lines:
            if line.authorization is not Authorization.DECLINED:
                units[line.line_item_id] += line.quantity
    return units


RETURN_TYPES: frozenset[CaseType] = frozenset({CaseType.WITHDRAWAL, CaseType.RETURN, CaseType.GOODWILL})


def absorbed_refund_ids(cases: Iterable[Case]) -> set[str]:
    """Platform refund ids that cases took over as their own settlement."""
    ids: set[str] = set()
    for case in cases:
        raw = case.data.get("external_refunds")
        if isinstance(raw, list):
            ids.update(str(r) for r in raw)
    return ids


def returnable_units(
    order: Order, cases: Sequence[Case], *, exclude_case_id: str | None = None
) -> dict[str, int]:
    """For each order line: bought − units in other live cases − units refunded in the shop admin."""
    held = units_in_cases(cases, exclude_case_id=exclude_case_id)
    external = external_refund_units(order, absorbed_refund_ids(cases))
    return {line.id: max(0, line.quantity - held[line.id] - external[line.id]) for line in order.line_items}


def validate_request(
    order: Order,
    requested: Sequence[RequestedLine],
    cases: Sequence[Case],
    *,
    goods_required: bool = True,
) -> list[CaseLine]:
    """Check a request against the order and the other cases; return one CaseLine per unit.

    Per-unit lines (Solidus' return items) let two units of the same line end differently:
    one restocked, one the wrong item. Raises :class:`InvalidRequest` and writes nothing.
    """
    if not requested:
        raise InvalidRequest("the request names no order lines")
    wanted: Counter[str] = Counter()
    reasons: dict[str, str | None] = {}
    for item in requested:
        if item.quantity < 1:
            raise InvalidRequest(
                f"quantity for line {item.line_item_id} must be at least 1, got {item.quantity}"
            )
        try:
            order.line(item.line_item_id)
        except KeyError:
            raise InvalidRequest(
                f"line {item.line_item_id} is not part of order {order.number}; "
                "each return covers the lines of one order"
            ) from None
        wanted[item.line_item_id] += item.quantity
        reasons.setdefault(item.line_item_id, item.reason)
    free = returnable_units(order, cases)
    for line_id, qty in wanted.items():
        line = order.line(line_id)
        if qty > free[line_id]:
            taken = line.quantity - free[line_id]
            label = f"'{line.name}'" if line.name else f"line {line_id}"
            raise InvalidRequest(
                f"{qty} unit(s) of {label} asked for, but only {free[line_id]} can still be returned "
                f"(bought {line.quantity}, {taken} already returned or refunded)"
            )
    logistics = Logistics.AWAITING if goods_required else Logistics.NOT_REQUIRED
    return [
        CaseLine(line_item_id=line_id, quantity=1, reason=reasons[line_id], logistics=logistics)
        for line_id, qty in wanted.items()
        for _ in range(qty)
    ]


def units_value(order: Order, lines: Iterable[CaseLine]) -> Money:
    """What the customer paid for these units (tax included), each unit priced by :func:`allocate`.

    Used for the auto-approve ceiling only; the refund itself comes from the calculator.
    """
    counts: Counter[str] = Counter()
    for line in lines:
        counts[line.line_item_id] += line.quantity
    parts: list[Money] = []
    for line_id, qty in counts.items():
        item = order.line(line_id)
        if item.quantity == 0:
            continue
        per_unit = allocate(item.paid(order.prices_include_tax), [Decimal(1)] * item.quantity)
        parts.extend(per_unit[: min(qty, item.quantity)])
    return total(parts, order.currency)


# -- 2 + 3. windows and approval --------------------------------------------------------------


def statement_time(case: Case) -> datetime:
    """When the request reached the shop: the stored statement timestamp, else the case's opening."""
    raw = case.data.get(STATEMENT_AT)
    if isinstance(raw, str):
        return datetime.fromisoformat(raw)
    return case.opened_at


def excluded_tags_hit(order: Order, lines: Iterable[CaseLine], excluded: frozenset[str]) -> list[str]:
    """Excluded tags carried by the order or by any returned line (sorted, for a stable reason)."""
    if not excluded:
        return []
    found = set(order.tags) & excluded
    for line in lines:
        found |= set(order.line(line.line_item_id).tags) & excluded
    return sorted(found)


def inside(deadlines: Mapping[str, datetime], key: str, at: datetime) -> bool | None:
    """Whether ``at`` is before the end of window ``key``; None when the window has not started.

    A window starts when the goods are in the customer's hands; before that (no deadline
    stored yet) the customer may already withdraw (art. 27 u.p.k.: from the conclusion of the
    contract).
    """
    end = deadlines.get(key)
    if end is None:
        return None
    return at < end  # ``end`` is the first instant after the last day


def decide(case: Case, order: Order, rules: ReturnRules) -> Decision:
    """Apply the shop's rules to a withdrawal or commercial return (the built-in plugin's answer).

    Before the delivery is known (WooCommerce never reports it) no window has started, so
    the request is inside every window and only the exclusions and auto-approve rules apply.
    """
    at = statement_time(case)
    statutory = inside(case.deadlines, WITHDRAWAL_WINDOW, at)
    hit = excluded_tags_hit(order, case.lines, rules.excluded_tags)

    if case.type is CaseType.WITHDRAWAL:
        if statutory is False:
            end = rules.last_day(case.deadlines[WITHDRAWAL_WINDOW])
            return Decision(False, False, [f"the withdrawal window ended on {end.isoformat()}"])
        reasons = ["statutory withdrawal inside the window: no approval needed"]
        if statutory is None:
            reasons = ["statutory withdrawal before the goods were delivered: no approval needed"]
        if hit:
            # Art. 38 u.p.k. exceptions (unsealed hygiene goods, made to order...) are facts a
            # person must check; a tag alone never takes a statutory right away.
            return Decision(
                True, False, [f"tagged {', '.join(hit)}: a person checks the statutory exceptions"]
            )
        return Decision(True, True, reasons)

    if case.type is not CaseType.RETURN:
        return Decision(False, False, [f"{case.type.value} cases are not returns"])

    commercial = inside(case.deadlines, RETURN_WINDOW, at)
    if commercial is False and statutory is False:
        end = rules.last_day(case.deadlines.get(RETURN_WINDOW) or case.deadlines[WITHDRAWAL_WINDOW])
        return Decision(False, False, [f"the return window ended on {end.isoformat()}"])
    if hit:
        if statutory is not False:
            return Decision(
                True, False, [f"tagged {', '.join(hit)} but inside the statutory window: a person decides"]
            )
        return Decision(False, False, [f"items tagged {', '.join(hit)} are excluded from returns"])
    return _auto_approve(case, order, rules)


def _auto_approve(case: Case, order: Order, rules: ReturnRules) -> Decision:
    if rules.auto_approve_max_value is None:
        return Decision(True, False, ["the policy approves no return automatically"])
    value = units_value(order, case.lines)
    ceiling = rules.auto_approve_max_value
    if ceiling.currency != value.currency:
        return Decision(
            True, False, [f"auto-approve ceiling is in {ceiling.currency}, the order in {value.currency}"]
        )
    if value > ceiling:
        return Decision(True, False, [f"value {value} is above the auto-approve limit {ceiling}"])
    if rules.auto_approve_reasons:
        off = sorted({line.reason or "no reason" for line in case.lines} - rules.auto_approve_reasons)
        if off:
            return Decision(True, False, [f"reason {', '.join(off)} is not approved automatically"])
    return Decision(True, True, [f"value {value} within the auto-approve limit {ceiling}"])


def apply_statutory_floor(case: Case, answer: Eligibility) -> Eligibility:
    """Whatever a plugin answered, a withdrawal inside the statutory window is never declined.

    The plugin may have a good reason (a business customer has no right of withdrawal), so
    its "no" becomes a manual review with its reasons, not an automatic decline.
    """
    statutory = inside(case.deadlines, WITHDRAWAL_WINDOW, statement_time(case))
    if case.type is CaseType.WITHDRAWAL and statutory is not False and not answer.eligible:
        return Eligibility(
            eligible=True,
            auto_approve=False,
            reasons=(*answer.reasons, "inside the statutory withdrawal window: a person must decide"),
        )
    return answer


def rules_from_policy(policy: Policy) -> ReturnRules:
    """The policy's ``returns`` section as :class:`ReturnRules` (amounts become shop-currency Money)."""
    returns = policy.returns
    ceiling = returns.auto_approve.max_value
    return ReturnRules(
        window_days=returns.window_days,
        excluded_tags=frozenset(returns.excluded_tags),
        auto_approve_max_value=None if ceiling is None else policy.money(ceiling),
        auto_approve_reasons=frozenset(returns.auto_approve.reasons),
        timezone=policy.shop.timezone,
    )
