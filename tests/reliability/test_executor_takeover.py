"""A takeover interrupted by a crash must not lose the dead worker's work (engine bug, reproduced).

How a dead worker's work is taken over (``Runtime._take_over``): a live worker marks the dead
executor ``dead`` in ``engine_executors`` (``executors.claim_dead``, committed), *then* asks DBOS
to hand that executor's PENDING jobs back to the queue (``Durable.recover``). Two separate steps:

- if the taker is killed between them (found by ``test_kill9_refunds.py`` with random kill
  moments: a worker started under a new executor id was killed about a second after its start),
  or ``recover`` raises (a database blip; the sweep loop logs it and goes on), the dead mark
  stays and the jobs stay PENDING under the dead id;
- no one retries: ``claim_dead`` only looks at executors that are not ``dead`` yet, and DBOS only
  recovers an executor's jobs at that executor's own start — which never comes for an id that
  was scaled away or replaced;
- the sweeper cannot help either: it re-offers the work with the same deduplication id
  (``effect:<key>``, ``inbox:<id>``...) and "return-existing" hands back the stuck PENDING job.

So the refund below, made at the shop while the worker that asked for it was killed, is never
confirmed, its case never settles, and an inbox item or e-mail caught the same way is never
processed — without any error anywhere. The test stages the crash deterministically: it kills
the worker in the middle of the refund call, then commits exactly what the taker commits before
its ``recover`` call (``claim_dead``), as a taker killed at that moment would have left it, and
starts a fresh worker, which must still finish the refund (found at the shop by its key).
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
