"""A takeover interrupted by a crash must not lose the dead worker's work (regression test).

How a dead worker's work is taken over: a live worker marks the dead executor ``dead`` in
``engine_executors`` (``executors.claim_dead``, committed), *then* asks DBOS to hand that
executor's PENDING jobs back to the queue (``Durable.recover``). The kill -9 suite found a taker
killed between the two steps (a worker started under a new executor id, killed about a second
later): the dead mark stayed, the jobs stayed PENDING under the dead id, nobody retried
(``claim_dead`` skipped executors already ``dead``), and the sweeper could not help — it re-offers
work with the same deduplication id, and "return-existing" handed back the stuck job. A refund
made at the shop was never confirmed, its case never settled, silently. Fixed in the engine:
every heartbeat recovers the pending jobs of every dead executor.

The test stages that crash deterministically: it kills the worker in the middle of the refund
call, commits exactly what the taker commits before its ``recover`` call (``claim_dead``), as a
taker killed at that moment leaves it, and starts a fresh worker, which must still finish the
refund — found at the shop by its key, not made twice.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from aftersales.engine import executors
from aftersales.store.models import Effect
from aftersales_woocommerce.testing import API_PREFIX, FakeWooCommerce

pytestmark = [pytest.mark.reliability, pytest.mark.crash]

SHOP = "rel-ledger-takeover"
SECRET = "rel-takeover-secret-0123456789"
MARKER = "_aftersales_effect_key"


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_takeover_cut_short_after_the_dead_mark_still_finishes_the_dead_workers_refund(
    service: Any, workers: Any, until: Callable[..., Any], order_factory: Callable[[int], dict[str, Any]]
) -> None:
    with FakeWooCommerce(consumer_key="ck_takeover", consumer_secret="cs_takeover") as fake:
        service.add_shop(
            SHOP,
            platform="woocommerce",
            secret=SECRET,
            credentials=fake.credentials(timeout_seconds=10.0).model_dump(mode="json", exclude_none=True),
        )
        fake.add_webhook("order.created", service.webhook_url("woocommerce", SHOP), SECRET)
        # the shop makes the refund at once and holds its answer: the worker is mid-call when killed
        fake.delay_next(5.0, f"{API_PREFIX}/orders/", method="POST")
        first = workers.start("rel-takeover-a")
        workers.wait_started(first)
        order_id = str(fake.add_order(order_factory(1))["id"])

        key = until(
            "the refund made at the shop", lambda: _effect_key(fake, order_id), timeout=60, pool=workers
        )
        first.kill()
        with service.runtime.read_session() as session:
            row = session.get(Effect, key)
            assert row is not None and row.state == "sent"  # the money moved; the ledger does not know

        # what a taker commits before its recover call, as a taker killed right there leaves it
        assert executors.claim_dead(service.runtime.sessions, "rel-takeover-taker", dead_after=3) == [
            "rel-takeover-a"
        ]
        assert service.orphaned_jobs() == {"rel-takeover-a": 1}

        second = workers.start("rel-takeover-b")
        workers.wait_started(second)

        def confirmed() -> bool:
            with service.runtime.read_session() as session:
                effect = session.get(Effect, key)
                return effect is not None and effect.state == "confirmed"

        # the effect lease is 4 s in these tests: 12 s is ample for a lookup at the shop
        until(
            "the refund to be confirmed by lookup",
            confirmed,
            timeout=12,
            detail=lambda: (service.unfinished(), service.orphaned_jobs()),
        )
        assert len(fake.refunds(order_id)) == 1


def _effect_key(fake: FakeWooCommerce, order_id: str) -> str | None:
    for refund in fake.refunds(order_id):
        for meta in refund.get("meta_data") or []:
            if meta.get("key") == MARKER:
                return str(meta["value"])
    return None
