"""Ingress bugs the hostile-input run found, pinned by tests now that they are fixed.

A correctly signed body of deeply nested JSON (``[[[[…]]]]``, a few kilobytes are enough) made
``json.loads`` raise ``RecursionError`` — not a ``ValueError`` — in ``parse_problem``
(``src/aftersales/web/ingress.py``), which caught only ``ValueError``/``UnicodeDecodeError``.
The error escaped ``Ingress.process_batch`` (it retried only ``SQLAlchemyError``) and
``BatchWriter._run`` turned it into ``IngestUnavailable`` for *every* job of the batch (fixed:
such a body is malformed, 400; and any failure of one job is retried alone):

- the sender gets 503 instead of 400 and the request is missing from the delivery log;
- worse, every valid delivery that was recorded in the same batch is answered 503 too although
  nothing was written for it — WooCommerce never retries, so those webhooks are lost, and one
  signed request can do this to its neighbours at will.

Reaching it needs a valid signature (a shop's own plugin with a bug, or a leaked secret); an
unsigned nested body is refused with 401 before any parsing (``test_hostile_bodies.py``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from aftersales.store.models import Delivery, InboxItem
from aftersales.web.ingress import BatchWriter, Ingress, Job, Outcome

pytestmark = pytest.mark.reliability

SHOP = "rel-ingress-bugs"
SECRET = "rel-ingress-bugs-secret-0123"
NESTED = b"[" * 50_000 + b"]" * 50_000
VALID = b'{"id": 31, "status": "processing", "date_modified_gmt": "2026-05-04T10:00:00"}'


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_signed_deeply_nested_body_is_refused_with_400_and_logged(
    service: Any, woo_delivery: Callable[..., dict[str, str]]
) -> None:
    service.add_shop(SHOP, platform="woocommerce", secret=SECRET, credentials={})
    headers = woo_delivery(SECRET, NESTED, topic="order.updated", webhook_id=1, delivery_id=1, source="x")
    answer = httpx.post(
        f"{service.url}/webhooks/woocommerce/{SHOP}", content=NESTED, headers=headers, timeout=30
    )
    assert answer.status_code == 400
    assert service.deliveries() == {Outcome.MALFORMED.value: 1}
    assert service.count(InboxItem) == 0


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_valid_delivery_batched_with_a_nested_body_is_still_accepted(
    service: Any, woo_delivery: Callable[..., dict[str, str]]
) -> None:
    service.add_shop(SHOP, platform="woocommerce", secret=SECRET, credentials={})
    runtime = service.runtime
    writer = BatchWriter(Ingress(runtime.sessions, runtime.plugins, runtime.clock))

    def job(body: bytes, delivery_id: int) -> Job:
        headers = woo_delivery(
            SECRET, body, topic="order.updated", webhook_id=1, delivery_id=delivery_id, source="x"
        )
        return Job(platform="woocommerce", shop_id=SHOP, body=body, headers=headers, body_size=len(body))

    async def both() -> list[Any]:
        # submitted in the same loop tick: the writer records them in one batch, as under load
        return await asyncio.gather(
            writer.submit(job(VALID, 1)), writer.submit(job(NESTED, 2)), return_exceptions=True
        )

    valid, nested = asyncio.run(both())
    assert not isinstance(valid, BaseException), f"the valid delivery was answered 503: {valid!r}"
    assert valid.outcome is Outcome.ACCEPTED
    assert not isinstance(nested, BaseException) and nested.outcome is Outcome.MALFORMED
    assert service.count(InboxItem) == 1
    assert service.count(Delivery) == 2
