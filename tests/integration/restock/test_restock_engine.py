"""Back-in-stock end to end: webhook → episode → wave 1 → timer → stock re-read → wave 2 → e-mails."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from aftersales.store.models import OutboxMessage, RestockEpisode, RestockMessage, SubscriptionRow, Timer
from aftersales.workflows.restock import restock_report


def _stock_reads(h: Any) -> int:
    """GETs of the variation itself (the re-check before a wave; reconciliation lists instead)."""
    return sum(
        1 for method, path in h.shop.requests if method == "GET" and path.split("?")[0].endswith("/501")
    )


def _recipients(h: Any) -> list[str]:
    return [str(m["To"]) for m in h.alerts()]


def test_a_restock_goes_out_in_waves_rechecked_against_the_shop(harness: Any) -> None:
    h = harness
    h.stock(0)  # the shop says: sold out (now visitors may subscribe)
    people = [f"klient{i:02d}@example.pl" for i in range(10)]
    for i, email in enumerate(people):
        h.clock.set(h.start + timedelta(minutes=i))
        h.subscribe_and_confirm(email)

    h.at(h.start + timedelta(hours=1))
    h.stock(2)  # two pairs back: wave 1 tells 2 × 3 = 6, in confirmation order
    assert _recipients(h) == people[:6]
    first = h.alerts()[0]
    assert first["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert str(first["List-Unsubscribe"]).strip().startswith("<https://alerts.example/restock/unsubscribe/")
    assert "Buty trekkingowe 42" in str(first["Subject"])
    assert "/restock/go/" in h.body(first)

    reads_before = _stock_reads(h)
    h.stock(1, webhook=False)  # one pair sold in the hour, no webhook for it
    h.at(h.start + timedelta(hours=2))  # the wave timer fires, re-reads the stock: 1 → 3 more
    assert _stock_reads(h) == reads_before + 1
    assert _recipients(h) == people[:9]

    h.stock(0, webhook=False)  # sold out before the third wave
    h.at(h.start + timedelta(hours=3))
    assert _recipients(h) == people[:9]
    with h.rt.read_session() as s:
        states = list(s.scalars(select(RestockEpisode.state).order_by(RestockEpisode.id)))
        assert states == ["sold_out", "waiting"]
        last = s.scalars(select(SubscriptionRow).where(SubscriptionRow.email == people[9])).one()
        assert last.status == "confirmed"  # keeps the place for the next restock
        sent = s.scalar(
            select(func.count()).select_from(RestockMessage).where(RestockMessage.sent_at.is_not(None))
        )
        assert sent == 9  # every alert the SMTP server accepted is marked sent

    # The restock the webhook never announced is found by reconciliation; the late webhook
    # for the same restock afterwards changes nothing.
    h.at(h.start + timedelta(hours=4))
    h.stock(4, webhook=False)
    outcome = h.command("restock.reconcile", since=(h.start + timedelta(hours=3)).isoformat())
    assert outcome["opened"] == 1
    assert _recipients(h) == people
    h.deliver("product.updated", h.shop.product(500, 501))
    assert _recipients(h) == people  # nobody twice
    report = {r.variant_id: r for r in _report(h)}["501"]
    assert (report.episodes, report.queued, report.sent, report.waiting) == (2, 10, 10, 0)


def _report(h: Any) -> list[Any]:
    with h.rt.read_session() as s:
        return restock_report(s, "sklep")


def test_one_click_unsubscribe_from_the_alert_stops_every_alert_of_the_address(harness: Any) -> None:
    h = harness
    h.stock(0)
    h.subscribe_and_confirm("ewa@example.pl")
    h.subscribe_and_confirm("jan@example.pl")
    h.at(h.start + timedelta(hours=1))
    h.stock(1)
    assert sorted(_recipients(h)) == ["ewa@example.pl", "jan@example.pl"]
    ewa = next(m for m in h.alerts() if "ewa@" in str(m["To"]))
    token = str(ewa["List-Unsubscribe"]).strip().strip("<>").rsplit("/", 1)[1]
    assert h.command("restock.unsubscribe", token=token)["outcome"] == "unsubscribed"
    assert h.command("restock.unsubscribe", token=token + "x")["outcome"] == "invalid"

    # Sold out again. Someone types Ewa's address into the form: accepted (neutral answer),
    # but it waits for her confirmation, which never comes.
    h.at(h.start + timedelta(hours=2))
    h.stock(0)
    again = h.command("restock.subscribe", variant_id="501", email="ewa@example.pl", ip="198.51.100.9")
    assert again["outcome"] == "accepted"
    h.subscribe_and_confirm("jan@example.pl")
    h.at(h.start + timedelta(hours=3))
    h.stock(5)
    assert _recipients(h).count("ewa@example.pl") == 1
    assert _recipients(h).count("jan@example.pl") == 2  # one alert per restock


def test_the_confirm_link_in_the_e_mail_leads_to_a_page_not_to_a_confirmation(harness: Any) -> None:
    h = harness
    h.stock(0)
    h.command("restock.subscribe", variant_id="501", email="ola@example.pl", ip="203.0.113.8", locale="pl")
    mail = h.sink.to("ola@example.pl")[-1]
    token = h.link(mail, "/restock/confirm/")
    # Opening the link (what a mail scanner does) must not confirm: only the page's POST does.
    with h.rt.read_session() as s:
        row = s.scalars(select(SubscriptionRow).where(SubscriptionRow.email == "ola@example.pl")).one()
        assert row.status == "pending"
    assert h.command("restock.confirm", token=token, ip="203.0.113.8")["outcome"] == "confirmed"
    with h.rt.read_session() as s:
        assert s.scalar(select(func.count()).select_from(OutboxMessage)) == 1
        assert (
            s.scalar(select(func.count()).select_from(Timer).where(Timer.kind == "restock.housekeeping")) == 1
        )
