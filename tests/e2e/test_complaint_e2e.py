"""A complaint nobody answers, end to end, over real sockets, on a controllable clock.

John's mug (order 727 at a WooCommerce shop) cracks. He e-mails the shop's complaints address,
forgetting the order number; the acknowledgement asks for it; he replies quoting the case
number; he states on the status page that he withdraws from the contract (a serious defect).
The shop's team is reminded on day 10 and day 13 and never answers. At midnight after the
last day the complaint is accepted by law: John is told, the warehouse gets a pick-up order,
and the money goes back through the shop's API — once, even though the shop's answer to the
refund call is lost on the way and the whole thing is swept again and again.

Everything crosses a socket: SMTP into the complaints listener, SMTP out to an aiosmtpd sink,
HTTP to the fake WooCommerce shop. Time is a ManualClock; the engine runs inline.
"""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from aftersales.engine.clock import ManualClock
from aftersales.engine.runtime import Runtime
from aftersales.engine.settings import EngineSettings
from aftersales.plugins import load_plugins
from aftersales.store.models import CaseRow, Effect, Shop
from aftersales.testing import SmtpSink
from aftersales.workflows.complaints.listener import ComplaintMailListener
from aftersales_woocommerce.testing import FakeWooCommerce, sample_order

WAW = ZoneInfo("Europe/Warsaw")
SHOP = "kubki"
JOHN = "john.doe@example.com"
TEAM = "reklamacje@kubki.example"
POLICY = f"""
shop: {{name: Kubki, jurisdiction: PL, currency: PLN, timezone: Europe/Warsaw}}
complaints: {{reminder_days: [10, 13]}}
notifications: {{from_address: "Kubki <sklep@kubki.example>", merchant_address: {TEAM}}}
"""


@pytest.fixture
def world(
    sqlite_url: str,
    manual_clock: ManualClock,
    smtp_sink: SmtpSink,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[Runtime, FakeWooCommerce, str]]:
    monkeypatch.setenv("AFTERSALES_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("AFTERSALES_SECRET_KEY", "e2e-secret")
    with FakeWooCommerce(deliver_webhooks=False) as shop:
        order = shop.add_order(sample_order(currency="PLN", status="completed"), webhook=False)
        runtime = Runtime(
            sqlite_url,
            clock=manual_clock,
            plugins=load_plugins(),
            settings=EngineSettings(retry_base=1.0, grace=0.0, effect_lease=0.0),
        ).launch(worker=False)
        with runtime.transaction() as session:
            session.add(
                Shop(
                    id=SHOP,
                    platform="woocommerce",
                    credentials=shop.credentials().model_dump(mode="json"),
                    policy_yaml=POLICY,
                    created_at=manual_clock.now(),
                )
            )
        try:
            yield runtime, shop, str(order["id"])
        finally:
            runtime.shutdown()


def mail(subject: str, body: str, message_id: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = f"John Doe <{JOHN}>"
    msg["To"] = "reklamacje@kubki.example"
    msg["Subject"] = subject
    msg["Message-ID"] = message_id
    msg.set_content(body)
    return msg


def test_an_unanswered_complaint_is_accepted_by_law_and_refunded_exactly_once(
    world: tuple[Runtime, FakeWooCommerce, str], manual_clock: ManualClock, smtp_sink: SmtpSink
) -> None:
    runtime, shop, order_id = world

    def inbox(raw: bytes) -> dict[str, object]:
        return runtime.execute_command("complaints.ingest_email", SHOP, raw=raw)

    def to(address: str, subject_part: str) -> list[EmailMessage]:
        return [
            m for m in smtp_sink.messages if address in str(m["To"]) and subject_part in str(m["Subject"])
        ]

    def at(moment: datetime) -> None:
        manual_clock.set(moment)
        runtime.run_until_idle(timeout=30)

    first = mail(
        "Pęknięty kubek", "Dzień dobry, kubek pękł przy pierwszym użyciu.", "<e2e-1@mail.example.com>"
    )
    with (
        ComplaintMailListener(inbox) as listener,
        smtplib.SMTP(listener.host, listener.port, timeout=10) as smtp,
    ):
        smtp.send_message(first)
        number = str(listener.handler.results[0]["case_number"])
        assert listener.handler.results[0]["status"] == "awaiting_order"
        runtime.run_until_idle(timeout=30)
        assert len(to(JOHN, f"Przyjęliśmy reklamację nr {number}")) == 1
        assert len(to(JOHN, "którego zamówienia dotyczy")) == 1

        manual_clock.advance(timedelta(hours=3))
        smtp.send_message(
            mail(f"Re: Reklamacja nr {number}", f"Zamówienie nr {order_id}.", "<e2e-2@mail.example.com>")
        )
        assert listener.handler.results[-1]["status"] == "received"
        declared = runtime.execute_command(
            "complaints.declare",
            SHOP,
            case_number=number,
            email=JOHN,
            remedy="withdraw",
            ground="serious_defect",
            lines=[{"line_item_id": "316"}],
        )
        assert declared["demanded"] == "withdraw"

        at(datetime(2026, 5, 14, 10, 0, tzinfo=WAW))
        at(datetime(2026, 5, 17, 10, 0, tzinfo=WAW))
        assert len(to(TEAM, f"Reklamacja {number} czeka na odpowiedź")) == 2

        shop.lose_next_response(path_prefix=f"/wp-json/wc/v3/orders/{order_id}/refunds")
        at(datetime(2026, 5, 19, 0, 0, 1, tzinfo=WAW))
        at(datetime(2026, 5, 19, 0, 10, tzinfo=WAW))  # the lost answer: looked up, never sent again

        smtp.send_message(first)  # the same e-mail again, days later
        for hours in (1, 24, 24 * 7):
            manual_clock.advance(timedelta(hours=hours))
            runtime.run_until_idle(timeout=30)

    refunds = shop.refunds(order_id)
    assert [r["amount"] for r in refunds] == ["12.90"]
    with runtime.transaction() as session:
        cases = list(session.scalars(select(CaseRow)))
        effects = list(session.scalars(select(Effect)))
        assert [(c.number, c.status) for c in cases] == [(number, "resolved")]
        assert [(e.kind, e.state) for e in effects] == [("refund", "confirmed")]
        assert effects[0].attempts >= 2  # the first answer was lost; the retry found the refund
    assert len(to(JOHN, f"Reklamacja nr {number} została uznana")) == 1
    assert len(to(TEAM, "Zlecenie odbioru PU-")) == 1
    assert len(to(JOHN, "Zwrot")) == 1
