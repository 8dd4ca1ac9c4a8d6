"""A statutory withdrawal end to end, as a Polish WooCommerce shop lives it.

The shop is connected the way a merchant connects it (``aftersales shop add`` and
``aftersales woocommerce setup`` against a fake WooCommerce that speaks real HTTP). The order
reaches the engine only through the shop's own signed webhook at the live ingress; the
customer withdraws from the whole contract (the withdrawal button's confirmed step), gets a
receipt by e-mail (a real SMTP server), the law approves the withdrawal without anyone, the
warehouse receives the goods, and the engine refunds at the shop — everything paid, delivery
included, exactly once — however often the webhooks are delivered again.

The engine runs inline on a ManualClock shared with the fake shop; everything else is the
production path: ingress → inbox → engine (re-reading the order from the shop) → returns
workflow → effects ledger → WooCommerce refund → outbox → SMTP.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sqlalchemy import select
from starlette.applications import Starlette
from typer.testing import CliRunner

from aftersales.cli import app as cli
from aftersales.engine.clock import ManualClock
from aftersales.engine.runtime import Runtime
from aftersales.store.models import CaseEvent, CaseRow, Delivery, Effect, InboxItem
from aftersales.testing import SmtpSink
from aftersales.web.app import create_app
from aftersales.workflows.returns.eligibility import InvalidRequest
from aftersales_woocommerce.testing import FakeWooCommerce, sample_order

ORDERED = datetime(2026, 6, 22, 8, 0, tzinfo=UTC)  # Monday 22 June 2026, 10:00 in Warsaw
WITHDRAWN = ORDERED + timedelta(days=3, hours=3)  # Thursday 25 June, 13:00 in Warsaw
EMAIL = "anna@example.pl"

POLICY = """\
shop: {name: Sklep Przykładowy, jurisdiction: PL, currency: PLN, timezone: Europe/Warsaw}
returns:
  window_days: 30
  refund_trigger: on_inspection   # capped by law: a withdrawal is refunded on receipt or proof of dispatch
notifications:
  from_address: "Sklep Przykładowy <sklep@example.pl>"
  merchant_address: "obsluga@example.pl"
"""


@contextlib.contextmanager
def live(asgi: Starlette) -> Iterator[str]:
    """The web app on a real loopback socket (uvicorn in a thread); yields its base URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(asgi, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="aftersales-web", daemon=True)
    thread.start()
    started = time.monotonic()
    while not server.started:
        assert thread.is_alive() and time.monotonic() - started < 10, "the web app did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(ORDERED)


@pytest.fixture
def woo(clock: ManualClock) -> Iterator[FakeWooCommerce]:
    with FakeWooCommerce(consumer_key="ck_sklep", consumer_secret="cs_sklep", clock=clock.now) as fake:
        yield fake


@pytest.fixture
def engine(
    tmp_path: Path,
    clock: ManualClock,
    woo: FakeWooCommerce,
    smtp_sink: SmtpSink,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Runtime]:
    monkeypatch.setenv("AFTERSALES_SECRET_KEY_FILE", str(tmp_path / "secret-key"))
    monkeypatch.delenv("AFTERSALES_SECRET_KEY", raising=False)
    db = f"sqlite:///{tmp_path / 'aftersales.db'}"
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY, encoding="utf-8")
    cli_runner = CliRunner()
    add = ["shop", "add", "sklep", "--platform", "woocommerce", "--webhook-secret", "sklep-whsec-0123456789"]
    added = cli_runner.invoke(cli, [*add, "--policy", str(policy), "--db", db])
    assert added.exit_code == 0, added.output
    runtime = Runtime(db, clock=clock).launch(worker=False)
    try:
        with live(create_app(runtime)) as url:
            setup = ["woocommerce", "setup", "--shop", "sklep", "--url", woo.url, "--key", "ck_sklep"]
            connected = cli_runner.invoke(cli, [*setup, "--secret", "cs_sklep", "--address", url, "--db", db])
            assert connected.exit_code == 0, connected.output
            yield runtime
    finally:
        runtime.shutdown()


def a_paid_order() -> dict[str, Any]:
    """Two mugs and a teapot, 15 zł courier: 246.00 + 80.00 + 15.00 = 341.00 zł paid (VAT included)."""
    mug = {"id": 315, "name": "Kubek", "product_id": 93, "quantity": 2, "subtotal": "200.00",
           "subtotal_tax": "46.00", "total": "200.00", "total_tax": "46.00", "taxes": [], "meta_data": [],
           "sku": "KUBEK", "price": 100}  # fmt: skip
    teapot = {"id": 316, "name": "Czajniczek", "product_id": 94, "quantity": 1, "subtotal": "65.04",
              "subtotal_tax": "14.96", "total": "65.04", "total_tax": "14.96", "taxes": [], "meta_data": [],
              "sku": "CZAJ", "price": 65.04}  # fmt: skip
    courier = {"id": 317, "method_title": "Kurier", "method_id": "flat_rate", "total": "15.00",
               "total_tax": "0.00", "taxes": [], "meta_data": []}  # fmt: skip
    return sample_order(
        currency="PLN",
        status="completed",
        line_items=[mug, teapot],
        shipping_lines=[courier],
        total="341.00",
        total_tax="60.96",
        shipping_total="15.00",
        payment_method="przelewy24",
        date_paid_gmt="2026-06-22T08:00:00",
        date_completed_gmt="2026-06-23T07:00:00",
        billing={**sample_order()["billing"], "email": EMAIL, "first_name": "Anna", "last_name": "Nowak"},
        meta_data=[{"id": 9000, "key": "wpml_language", "value": "pl"}],
    )


def test_a_withdrawal_from_a_webhook_to_exactly_one_refund(
    woo: FakeWooCommerce, engine: Runtime, clock: ManualClock, smtp_sink: SmtpSink
) -> None:
    # before the shop told us about the order, a withdrawal cannot be matched to it
    with pytest.raises(InvalidRequest, match="no order"):
        engine.execute_command("returns.request_withdrawal", "sklep", order_number="727", email=EMAIL)

    order = woo.add_order(a_paid_order())
    order_id = order["id"]
    created = next(d for d in woo.deliveries if d.topic == "order.created")
    assert created.status == 200
    assert woo.redeliver(created).status == 200  # WooCommerce sends it again: a duplicate, nothing more
    engine.run_until_idle()

    # Thursday: the customer confirms the withdrawal from the whole contract
    clock.set(WITHDRAWN)
    case = engine.execute_command(
        "returns.request_withdrawal",
        "sklep",
        order_number=str(order["number"]),
        email=EMAIL,
        request_id="btn-1",
    )
    engine.run_until_idle()
    assert (case["type"], case["status"]) == ("withdrawal", "approved")  # the law needs no approval
    number = case["case_number"]
    [receipt] = [m for m in smtp_sink.wait_for(2) if "odstąpienia" in str(m["Subject"])]
    assert receipt["To"] == EMAIL
    body = receipt.get_body(preferencelist=("plain",))
    assert body is not None
    assert "25 czerwca 2026" in body.get_content()  # the statement's timestamp, on a durable medium

    # the button pressed twice: the same case, no second receipt
    again = engine.execute_command(
        "returns.request_withdrawal",
        "sklep",
        order_number=str(order["number"]),
        email=EMAIL,
        request_id="btn-1",
    )
    assert again["case_number"] == number

    # a week later the parcel is back at the warehouse
    clock.set(WITHDRAWN + timedelta(days=7))
    engine.execute_command("returns.receive", "sklep", case_number=number, actor="merchant:magazyn")
    engine.run_until_idle()

    refunds = woo.refunds(order_id)
    assert [r["amount"] for r in refunds] == ["341.00"]  # goods, taxes and the delivery: all that was paid
    markers = [m["value"] for m in refunds[0]["meta_data"] if m["key"] == "_aftersales_effect_key"]
    assert markers and markers[0].startswith("refund:sklep:")

    # the refund changed the order: WooCommerce says so, and says it twice; nothing is paid again
    refund_update = [d for d in woo.deliveries if d.topic == "order.updated"][-1]
    assert refund_update.status == 200
    for delivery in list(woo.deliveries):
        if delivery.topic:
            assert woo.redeliver(delivery).status == 200
    woo.update_order(order_id, customer_note="dziękuję")
    engine.run_until_idle()
    clock.set(WITHDRAWN + timedelta(days=30))  # every clock of the case has passed
    engine.run_until_idle()
    assert len(woo.refunds(order_id)) == 1

    with engine.sessions() as session:
        row = session.scalars(select(CaseRow).where(CaseRow.number == number)).one()
        assert row.status == "closed"
        events = [e.event for e in session.scalars(select(CaseEvent).where(CaseEvent.case_id == row.id))]
        assert events == [
            "opened",
            "approve",
            "goods_received",
            "request_refund",
            "refund_confirmed",
            "close",
        ]
        [effect] = session.scalars(select(Effect).where(Effect.kind == "refund")).all()
        assert (effect.state, effect.amount, effect.attempts) == ("confirmed", "341.00", 1)
        outcomes = [d.outcome for d in session.scalars(select(Delivery))]
        assert outcomes.count("duplicate") >= 2
        assert {i.state for i in session.scalars(select(InboxItem))} == {"done"}

    mails = smtp_sink.wait_for(4)
    time.sleep(0.2)
    assert len(smtp_sink.messages) == 4  # receipt, approved, goods received, refund sent: once each
    assert {m["To"] for m in mails} == {EMAIL}
    [sent] = [m for m in mails if str(m["Subject"]).startswith("Zwrot ")]
    assert "341,00" in str(sent["Subject"])
