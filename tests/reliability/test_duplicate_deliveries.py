"""Thousands of webhook deliveries, 30 % of them duplicates, in shuffled order: each processed once.

The test plays WooCommerce: it creates orders in the fake shop (without the shop's own webhooks),
builds the signed deliveries WooCommerce would send — ``order.created`` for every order and
``order.updated`` after each later change (2.5 distinct deliveries per order on average, some
orders never change, some change several times) — and sends them to the live ingress over
real sockets from eight threads, shuffled, with 30 % of all sends being re-sends of a delivery
already in the list: half with a new ``X-WC-Webhook-Delivery-ID`` (WooCommerce's own re-send),
half byte-for-byte replays (a proxy or a load balancer retrying). Arrival order is arbitrary, so a
re-send often arrives before the original and an update before its creation.

The workers (one on SQLite, two on PostgreSQL) refund each order through the ledger
(``reliability_workflows``: ``rel-ledger-*`` shops), while the deliveries are still arriving.
Exactly once is checked at every layer: the ingress's answers, the delivery log, the inbox, the
workflow (each case lists the deliveries its handler processed, appended, so a double run would
show), the ledger, and the refunds the shop saw.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from random import Random
from typing import Any

import pytest
from sqlalchemy import select

from aftersales.store.cases import to_cases
from aftersales.store.models import CaseRow, Effect, InboxItem
from aftersales_woocommerce.testing import FakeWooCommerce

pytestmark = pytest.mark.reliability

SHOP = "rel-ledger-dupes"
SECRET = "rel-dupes-secret-0123456789"
WEBHOOK_ID = 7
DUPLICATE_SHARE = 0.3
DELIVERIES_PER_ORDER = 2.5
WEBHOOK_TOPICS = ("order.created", "order.updated")


@dataclass(frozen=True)
class Original:
    order_id: str
    topic: str
    body: bytes
    modified: str
    delivery_id: int


def test_shuffled_duplicate_deliveries_are_each_processed_once(
    backend: Any,
    service: Any,
    workers: Any,
    sizes: Any,
    rng: Random,
    until: Callable[..., Any],
    order_factory: Callable[[int], dict[str, Any]],
    woo_delivery: Callable[..., dict[str, str]],
    sender: Any,
) -> None:
    with FakeWooCommerce(consumer_key="ck_dupes", consumer_secret="cs_dupes") as fake:
        service.add_shop(
            SHOP,
            platform="woocommerce",
            secret=SECRET,
            credentials=fake.credentials().model_dump(mode="json", exclude_none=True),
        )
        for n in range(1, backend.workers + 1):
            workers.start(f"rel-dupes-{backend.name}-{n}")

        duplicates = round(sizes.deliveries * DUPLICATE_SHARE)
        distinct = sizes.deliveries - duplicates
        order_count = round(distinct / DELIVERIES_PER_ORDER)
        ids = itertools.count(1)
        originals: list[Original] = []
        for index in range(order_count):
            created = fake.add_order(order_factory(index), webhook=False)
            originals.append(_original(created, "order.created", next(ids)))
        order_ids = [o.order_id for o in originals]
        for change in range(distinct - order_count):
            updated = fake.update_order(
                rng.choice(order_ids), webhook=False, customer_note=f"change {change}"
            )
            originals.append(_original(updated, "order.updated", next(ids)))
        assert len(originals) == distinct

        source = f"{fake.url}/"
        sends: list[tuple[Original, int]] = [(o, o.delivery_id) for o in originals]
        for _ in range(duplicates):
            again = rng.choice(originals)
            # half WooCommerce's re-send (a new delivery id), half a byte-for-byte replay
            sends.append((again, next(ids) if rng.random() < 0.5 else again.delivery_id))
        rng.shuffle(sends)
        posts = [
            sender.Post(
                f"/webhooks/woocommerce/{SHOP}",
                o.body,
                woo_delivery(
                    SECRET, o.body, topic=o.topic, webhook_id=WEBHOOK_ID, delivery_id=d, source=source
                ),
            )
            for o, d in sends
        ]
        answers = sender(service.url, posts)
        # 503 means "not recorded for sure, send again" (DESIGN §10): a platform retries it, and
        # so does this sender; the write may have landed anyway, and then the retry is a duplicate
        unavailable, retries = [i for i, a in enumerate(answers) if a.status == 503], 0
        for _ in range(5):
            if not unavailable:
                break
            again = sender(service.url, [posts[i] for i in unavailable])
            retries += len(unavailable)
            for i, answer in zip(unavailable, again, strict=True):
                answers[i] = answer
            unavailable = [i for i in unavailable if answers[i].status == 503]

        assert Counter(a.status for a in answers) == {200: sizes.deliveries}, [
            a for a in answers if a.status != 200
        ][:5]
        said = Counter(a.said for a in answers)
        assert set(said) <= {"accepted", "already received"}
        # a delivery answered 503 whose row landed anyway is "already received" on its retry
        assert distinct - retries <= said["accepted"] <= distinct

        def done() -> bool:
            return (
                not service.unfinished()
                and service.count(CaseRow, CaseRow.shop_id == SHOP, CaseRow.status == "settled")
                == order_count
            )

        until(
            "every delivery processed and every order refunded",
            done,
            timeout=sizes.timeout,
            pool=workers,
            service=service,
            detail=lambda: (service.unfinished(), service.states(CaseRow.status, CaseRow.shop_id == SHOP)),
        )

        logged = service.deliveries()
        assert set(logged) <= {"accepted", "duplicate"}
        assert logged["accepted"] == distinct
        # a 503 is logged when its write landed after the ingress stopped waiting, not when it failed
        assert duplicates <= logged.get("duplicate", 0) <= duplicates + retries
        expected = Counter(o.order_id for o in originals)
        with service.runtime.read_session() as session:
            inbox = session.scalars(select(InboxItem).where(InboxItem.shop_id == SHOP)).all()
            assert {i.state for i in inbox} == {"done"}
            # the periodic reconciliation (first poll 15 min after a worker starts) may add polled
            # orders to the inbox; the webhooks are what this test counts
            webhooks = [i for i in inbox if i.source == "webhook"]
            assert len(webhooks) == distinct
            retried = sum(1 for i in webhooks if i.attempts != 1)
            cases = to_cases(session, session.scalars(select(CaseRow).where(CaseRow.shop_id == SHOP)).all())
            assert Counter(c.order_id for c in cases) == Counter(expected.keys())  # one case per order
            for case in cases:
                processed = [tuple(p) for p in case.data.get("processed", []) if p[0] in WEBHOOK_TOPICS]
                # every distinct delivery of the order ran the workflow once: no more, no less
                assert len(processed) == expected[case.order_id or ""], (case.order_id, processed)
                assert len(set(processed)) == len(processed), (case.order_id, processed)
            effects = session.scalars(select(Effect).where(Effect.shop_id == SHOP)).all()
            assert len(effects) == order_count
            assert {(e.kind, e.state) for e in effects} == {("refund", "confirmed")}
        refunds = {order_id: fake.refunds(order_id) for order_id in expected}
        assert {order_id: len(r) for order_id, r in refunds.items() if len(r) != 1} == {}
        print(
            f"{sizes.deliveries} deliveries ({duplicates} duplicates) → {distinct} inbox items, "
            f"{order_count} cases, {order_count} refunds; answered 503 and sent again: {retries}; "
            f"inbox items that needed a second attempt: {retried}"
        )


def _original(order: dict[str, Any], topic: str, delivery_id: int) -> Original:
    body = json.dumps(order).encode()
    return Original(str(order["id"]), topic, body, str(order["date_modified_gmt"]), delivery_id)
