"""The shipping guarantee end to end, as a Polish WooCommerce shop lives it.

A fake WooCommerce shop (real HTTP, OAuth-signed REST API, real signed webhooks) is connected
with ``aftersales shop add`` and ``aftersales woocommerce setup``. The customer pays on Monday
30 November 2026 at 10:00 in Warsaw (before the 12:00 cut-off, one handling day): the promise is
Tuesday 1 December. The warehouse hands the parcel to InPost on Wednesday at 09:00. The webhook
carrying the tracking arrives at the live ingress; the engine pays 50 zł back as a refund at the
shop — once, however often the webhook is delivered — and the customer hears about it by
e-mail (a real SMTP server).

The engine runs inline on a ManualClock shared with the fake shop, so "Wednesday" is a call,
not a wait; everything else is the production path: ingress → inbox → engine (re-reading the
order from the shop) → guarantee workflow → effects ledger → WooCommerce refund → outbox →
SMTP.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from aftersales.cli import app as cli
from aftersales.domain import CaseType
from aftersales.engine.clock import ManualClock
from aftersales.engine.runtime import Runtime
from aftersales.store.models import CaseRow, Delivery, InboxItem
from aftersales.store.models import Promise as PromiseRow
from aftersales.testing import SmtpSink
from aftersales.testing.server import LiveServer
from aftersales.web.app import create_app
from aftersales_woocommerce.testing import FakeWooCommerce, sample_order

PAID = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # Monday 10:00 in Warsaw
HANDED_OVER = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)  # Wednesday 09:00 in Warsaw

POLICY = """\
shop: {name: Sklep Przykładowy, jurisdiction: PL, currency: PLN, timezone: Europe/Warsaw}
guarantee:
  enabled: true
  promise: {cutoff: "12:00", handling_business_days: 1}
  measured_on: dispatch
  payout: {amount: "50.00", method: refund, kind: fixed}
  exclude: {channels: [marketplace], payment_methods: [instalments]}
  caps: {per_order: "50.00", per_customer_per_month: "150.00"}
notifications:
  from_address: "Sklep Przykładowy <sklep@example.pl>"
"""


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(PAID)


@pytest.fixture
def shop(clock: ManualClock) -> Iterator[FakeWooCommerce]:
    with FakeWooCommerce(consumer_key="ck_sklep", consumer_secret="cs_sklep", clock=clock.now) as fake:
        yield fake


@pytest.fixture
def service(
    tmp_path: Path,
    clock: ManualClock,
    shop: FakeWooCommerce,
    smtp_sink: SmtpSink,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[Runtime, str]]:
    monkeypatch.setenv("AFTERSALES_SECRET_KEY_FILE", str(tmp_path / "secret-key"))
    monkeypatch.delenv("AFTERSALES_SECRET_KEY", raising=False)
    db = f"sqlite:///{tmp_path / 'aftersales.db'}"
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY, encoding="utf-8")
    runner = CliRunner()
    added = runner.invoke(
        cli,
        ["shop", "add", "sklep", "--platform", "woocommerce", "--webhook-secret", "sklep-webhook-secret-0123",
         "--policy", str(policy), "--db", db],
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    runtime = Runtime(db, clock=clock).launch(worker=False)
    try:
        with LiveServer(create_app(runtime)) as server:
            connected = runner.invoke(
                cli,
                ["woocommerce", "setup", "--shop", "sklep", "--url", shop.url, "--key", "ck_sklep",
                 "--secret", "cs_sklep", "--address", server.url, "--db", db],
            )  # fmt: skip
            assert connected.exit_code == 0, connected.output
            yield runtime, server.url
    finally:
        runtime.shutdown()


MUG = {
    "id": 315,
    "name": "Kubek",
    "product_id": 93,
    "variation_id": 0,
    "quantity": 2,
    "tax_class": "",
    "subtotal": "200.00",
    "subtotal_tax": "46.00",
    "total": "200.00",
    "total_tax": "46.00",
    "taxes": [],
    "meta_data": [],
    "sku": "KUBEK",
    "price": 100,
}
COURIER = {
    "id": 317,
    "method_title": "Kurier",
    "method_id": "flat_rate",
    "total": "15.00",
    "total_tax": "0.00",
    "taxes": [],
    "meta_data": [],
}


def tracking(at: datetime) -> list[dict[str, Any]]:
    """What the Shipment Tracking extension stores on the order when the parcel is handed over."""
    items = [
        {
            "tracking_id": "trk-1",
            "tracking_provider": "InPost",
            "tracking_number": "6200000000001",
            "date_shipped": str(int(at.timestamp())),
        }
    ]
    return [{"id": 9001, "key": "_wc_shipment_tracking_items", "value": items}]


def test_a_late_dispatch_pays_50_zl_once_and_tells_the_customer(
    shop: FakeWooCommerce, service: tuple[Runtime, str], clock: ManualClock, smtp_sink: SmtpSink
) -> None:
    runtime, _ = service
    order = shop.add_order(
        sample_order(
            currency="PLN",
            status="processing",
            line_items=[MUG],
            shipping_lines=[COURIER],
            total="261.00",
            total_tax="46.00",
            cart_tax="46.00",
            shipping_total="15.00",
            created_via="checkout",
            payment_method="przelewy24",
            date_created_gmt="2026-11-30T09:00:00",
            date_paid_gmt="2026-11-30T09:00:00",
            billing={
                **sample_order()["billing"],
                "email": "anna@example.pl",
                "first_name": "Anna",
                "last_name": "Nowak",
            },
            meta_data=[{"id": 9000, "key": "wpml_language", "value": "pl"}],
        )
    )
    order_id = str(order["id"])
    assert [d.status for d in shop.deliveries if d.topic == "order.created"] == [200]
    runtime.run_until_idle()
    with runtime.sessions() as session:
        promise = session.get(PromiseRow, ("sklep", order_id))
        assert promise is not None
        assert (promise.dispatch_by.isoformat(), promise.outcome) == ("2026-12-01", "pending")

    # Wednesday 09:00: the parcel goes to InPost; the shop says so in an order.updated webhook
    clock.set(HANDED_OVER)
    shop.update_order(order_id, status="completed", meta_data=tracking(HANDED_OVER))
    fulfilment = [d for d in shop.deliveries if d.topic == "order.updated"][-1]
    assert fulfilment.status == 200
    runtime.run_until_idle()

    # the same webhook again (WooCommerce retries), and a later edit that still carries the tracking
    assert shop.redeliver(fulfilment).status == 200
    clock.set(datetime(2026, 12, 2, 9, 0, tzinfo=UTC))
    shop.update_order(order_id, customer_note="please ring twice", meta_data=tracking(HANDED_OVER))
    runtime.run_until_idle()
    clock.set(datetime(2026, 12, 3, 9, 0, tzinfo=UTC))  # long after the deadline timer
    runtime.run_until_idle()

    refunds = shop.refunds(order_id)
    assert len(refunds) == 1
    [refund] = refunds
    assert refund["amount"] == "50.00"
    assert refund["line_items"] == []  # money only: nothing returned, nothing restocked
    key = f"guarantee:sklep:{order_id}"
    assert any(
        m.get("key") == "_aftersales_effect_key" and m.get("value") == key for m in refund["meta_data"]
    )

    with runtime.sessions() as session:
        promise = session.get(PromiseRow, ("sklep", order_id))
        assert promise is not None
        assert (promise.outcome, promise.late_reason) == ("late", "dispatched 1 business day late")
        assert promise.payout_effect_key == f"guarantee:sklep:{order_id}"
        [case] = session.scalars(select(CaseRow).where(CaseRow.type == CaseType.GUARANTEE_PAYOUT.value)).all()
        assert case.status == "paid"
        outcomes = [d.outcome for d in session.scalars(select(Delivery).order_by(Delivery.id))]
        assert outcomes.count("duplicate") == 1
        assert {i.state for i in session.scalars(select(InboxItem))} == {"done"}

    [mail] = smtp_sink.wait_for(1)
    time.sleep(0.2)
    assert len(smtp_sink.messages) == 1
    assert mail["To"] == "anna@example.pl"
    assert "Spóźniliśmy się" in mail["Subject"] and "50,00" in mail["Subject"]
    body = mail.get_body(preferencelist=("plain",))
    assert body is not None
    text = body.get_content()
    assert "1 grudnia 2026" in text and "2 grudnia 2026" in text
    assert "przekazujemy Ci 50,00" in text and "zwrot na Twoją metodę płatności" in text
    assert mail["X-Aftersales-Case"] == case.number
