"""kill -9 of worker processes at random moments while they refund orders: exactly one refund each.

The shop is a fake WooCommerce over HTTP; its order webhooks are signed and delivered to the live
ingress; ``aftersales worker`` processes (one on SQLite, two on PostgreSQL) turn each order into a
goodwill case through the returns workflow, refund it through the effects ledger, e-mail the
customer and close the case. Meanwhile the test kills a worker with SIGKILL, again and again, and
starts it again — usually under the same executor id (it resumes its own work at once), sometimes
under a new one (its old id must be taken over as dead).

Two kinds of kill moments:

- **random**: a random delay after a batch of orders was handed to the shop, so the kill lands
  anywhere — inside a webhook's transaction, between a commit and its enqueue, in a refund call,
  while an e-mail goes out, in DBOS's own bookkeeping;
- **mid-refund**: the shop holds its answer to the round's first refund for 1.5 s
  (``delay_next``: the refund is *made*, then the answer waits; the client's timeout is longer),
  and the test kills the worker waiting for it, found through the ledger row's ``sent`` mark.
  That is the hardest moment for exactly-once: the money has moved and the ledger does not know
  it. The restarted (or surviving) worker must find the refund at the shop by its key instead of
  refunding again.

Afterwards: every order has exactly one refund at the shop, every case is closed, the ledger
holds one confirmed refund per case and nothing intended/sent/unknown/failed, every webhook was
acknowledged and processed, every e-mail sent. E-mail is at-least-once by design (a worker killed
after the SMTP server accepted a message and before it was recorded sends it again), so the
number of duplicates is printed, not asserted away.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from random import Random
from typing import Any

import pytest
from sqlalchemy import select

from aftersales.store.models import CaseRow, Effect, InboxItem, OutboxMessage
from aftersales.testing import SmtpSink
from aftersales_woocommerce.testing import API_PREFIX, FakeWooCommerce

pytestmark = [pytest.mark.reliability, pytest.mark.crash]

SHOP = "rel-goodwill-shop"
SECRET = "rel-webhook-secret-0123456789"
GOODWILL = "5.00"
HELD_ANSWER = 1.5
"""Seconds the shop holds its answer to a targeted refund (the client waits up to 5 s)."""
EFFECT_MARKER = "_aftersales_effect_key"


class Feeder:
    """Adds orders to the shop in the background (each add waits for its webhook's answer)."""

    def __init__(self, fake: FakeWooCommerce, new_order: Callable[[int], dict[str, Any]]) -> None:
        self.fake = fake
        self.new_order = new_order
        self.order_ids: list[str] = []
        self.errors: list[BaseException] = []
        self._thread: threading.Thread | None = None

    def add(self, indexes: range) -> None:
        self.join()

        def run() -> None:
            try:
                for index in indexes:
                    self.order_ids.append(str(self.fake.add_order(self.new_order(index))["id"]))
            except BaseException as exc:  # surfaced by join()
                self.errors.append(exc)

        self._thread = threading.Thread(target=run, name="reliability-feeder", daemon=True)
        self._thread.start()

    def join(self) -> None:
        if self._thread is not None:
            self._thread.join(timeout=600)
        if self.errors:
            raise self.errors[0]


def refund_in_flight(
    fake: FakeWooCommerce, service: Any, since: int, timeout: float
) -> tuple[str, str] | None:
    """``(effect key, executor id)`` of a refund made at the shop whose answer is still on its way.

    Watches the shop's request log from ``since`` for a refund POST, waits until the shop has made
    that refund (it then sleeps before answering), reads the effect key from the refund's
    ``meta_data`` marker and the executor from the ledger row's ``sent`` mark.
    """
    deadline = time.monotonic() + timeout
    seen = since
    while time.monotonic() < deadline:
        requests = fake.requests[seen:]
        seen += len(requests)
        for method, path in requests:
            if method != "POST" or not path.endswith("/refunds"):
                continue
            order_id = path.removeprefix(f"{API_PREFIX}/orders/").split("/")[0]
            made = _wait_for_refund(fake, order_id, deadline=time.monotonic() + HELD_ANSWER / 2)
            if made is None:
                continue
            with service.runtime.read_session() as session:
                row = session.get(Effect, made)
                mark = (row.result or {}).get("sending") if row is not None and row.state == "sent" else None
            if isinstance(mark, dict) and mark.get("executor"):
                return made, str(mark["executor"])
        time.sleep(0.003)
    return None


def _wait_for_refund(fake: FakeWooCommerce, order_id: str, *, deadline: float) -> str | None:
    while time.monotonic() < deadline:
        for refund in fake.refunds(order_id):
            for meta in refund.get("meta_data") or []:
                if meta.get("key") == EFFECT_MARKER:
                    return str(meta.get("value"))
        time.sleep(0.002)
    return None


def test_kill9_during_automated_refunds_leaves_exactly_one_refund_per_case(
    backend: Any,
    service: Any,
    workers: Any,
    sizes: Any,
    rng: Random,
    smtp_sink: SmtpSink,
    until: Callable[..., Any],
    order_factory: Callable[[int], dict[str, Any]],
) -> None:
    with FakeWooCommerce(consumer_key="ck_reliability", consumer_secret="cs_reliability") as fake:
        service.add_shop(
            SHOP,
            platform="woocommerce",
            secret=SECRET,
            credentials=fake.credentials(timeout_seconds=5.0).model_dump(mode="json", exclude_none=True),
        )
        for topic in ("order.created", "order.updated"):
            fake.add_webhook(topic, service.webhook_url("woocommerce", SHOP), SECRET)

        slots = [f"rel-{backend.name}-{n}" for n in range(1, backend.workers + 1)]
        live = {slot: workers.start(slot) for slot in slots}
        feeder = Feeder(fake, order_factory)
        rounds = sizes.kills + 1
        bounds = [sizes.refunds * r // rounds for r in range(rounds + 1)]
        kills: list[str] = []
        caught_mid_refund: list[str] = []

        def settled() -> bool:
            return not service.unfinished() and service.count(
                CaseRow, CaseRow.shop_id == SHOP, CaseRow.status == "closed"
            ) >= len(feeder.order_ids)

        def ready() -> None:
            for worker in live.values():
                workers.wait_started(worker)

        for round_ in range(rounds):
            batch = range(bounds[round_], bounds[round_ + 1])
            if round_ == rounds - 1:
                feeder.add(batch)
                break
            mid_refund = round_ % 2 == 1
            victim_slot = rng.choice(slots)
            key: str | None = None
            if mid_refund:
                ready()
                since = len(fake.requests)
                fake.delay_next(HELD_ANSWER, f"{API_PREFIX}/orders/", method="POST")
                feeder.add(batch)
                found = refund_in_flight(fake, service, since, timeout=60)
                if found is not None:
                    key, executor = found
                    victim_slot = next((s for s, w in live.items() if w.executor_id == executor), victim_slot)
            else:
                feeder.add(batch)
                ready()
                time.sleep(rng.uniform(0.05, 1.5))
            victim = live[victim_slot]
            victim.kill()
            kills.append(f"{'mid-refund' if mid_refund else 'random'}:{victim.executor_id}")
            if key is not None:
                with service.runtime.read_session() as session:
                    row = session.get(Effect, key)
                    if row is not None and row.state == "sent":
                        caught_mid_refund.append(key)  # made at the shop, unknown to the ledger
            same_id = rng.random() < 0.7
            new_id = victim_slot if same_id else f"{victim_slot}-r{len(kills)}"
            live[victim_slot] = workers.start(new_id)
        feeder.join()
        print(f"kills: {len(kills)} ({', '.join(kills)}); caught mid-refund: {len(caught_mid_refund)}")
        until(
            "every case closed and nothing left in the inbox, ledger or outbox",
            settled,
            timeout=sizes.timeout,
            pool=workers,
            service=service,
            detail=lambda: (service.unfinished(), service.states(CaseRow.status, CaseRow.shop_id == SHOP)),
        )

        order_ids = feeder.order_ids
        assert len(order_ids) == sizes.refunds
        assert len(kills) == sizes.kills
        assert caught_mid_refund, (
            "no kill landed while a refund was in flight: the hardest case went untested"
        )

        # every webhook the shop sent was acknowledged (WooCommerce never retries one)
        failed = [(d.topic, d.status, d.error) for d in fake.deliveries if not d.ok]
        assert failed == []

        # the shop: exactly one refund per order, of the goodwill amount, carrying its ledger key
        refunds = {order_id: fake.refunds(order_id) for order_id in order_ids}
        doubled = {order_id: len(found) for order_id, found in refunds.items() if len(found) != 1}
        assert doubled == {}, f"orders without exactly one refund at the shop: {doubled}"
        assert {r[0]["amount"] for r in refunds.values()} == {GOODWILL}
        keys = {m["value"] for r in refunds.values() for m in r[0]["meta_data"] if m["key"] == EFFECT_MARKER}
        assert len(keys) == len(order_ids)

        with service.runtime.read_session() as session:
            cases = session.scalars(select(CaseRow).where(CaseRow.shop_id == SHOP)).all()
            assert sorted(c.order_id or "" for c in cases) == sorted(order_ids)  # one case per order
            assert {c.status for c in cases} == {"closed"}
            effects = session.scalars(select(Effect).where(Effect.shop_id == SHOP)).all()
            assert {(e.kind, e.state) for e in effects} == {("refund", "confirmed")}
            assert {e.effect_key for e in effects} == keys
            by_lookup = {e.effect_key for e in effects if (e.result or {}).get("found_by_lookup")}
            # a refund killed mid-flight was found at the shop, never made a second time
            assert set(caught_mid_refund) <= by_lookup
            inbox = session.scalars(select(InboxItem).where(InboxItem.shop_id == SHOP)).all()
            assert {i.state for i in inbox} == {"done"}
            # every acknowledged webhook is in the inbox (reconciliation may add polled orders)
            webhooks = [i for i in inbox if i.source == "webhook"]
            assert len(webhooks) == len([d for d in fake.deliveries if d.ok])
            outbox = session.scalars(select(OutboxMessage).where(OutboxMessage.shop_id == SHOP)).all()
            assert {m.state for m in outbox} == {"sent"}
            recipients = {m.recipient for m in outbox}
        assert recipients == {f"customer{i}@example.com" for i in range(sizes.refunds)}
        until("the e-mails at the SMTP server", lambda: len(smtp_sink.messages) >= len(outbox), timeout=30)
        print(
            f"refunds: {len(keys)}, found by lookup after a crash: {len(by_lookup)}, "
            f"inbox: {len(inbox)}, e-mails: {len(smtp_sink.messages)} for {len(outbox)} messages "
            f"({len(smtp_sink.messages) - len(outbox)} resent after a kill)"
        )
