"""Templates per event and language: every one renders, formats like a local reader expects,
escapes what a customer typed in HTML only, and carries the signed status link."""

from __future__ import annotations

from datetime import UTC, date, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from aftersales import hookimpl
from aftersales.domain import Case, CaseType, Money
from aftersales.notify.compose import compose_message
from aftersales.notify.message import Message
from aftersales.notify.render import TEMPLATES, MissingContext, UnknownTemplate, language_of, render_message
from aftersales.plugins import load_plugins
from aftersales.web.links import read_status_token

STATUS = "https://returns.example/status/abc"


def full_context() -> dict[str, Any]:
    """Every key any built-in template reads, with realistic values."""
    return {
        "shop_name": "Sklep Przykład",
        "status_url": STATUS,
        "order_number": "#1001",
        "case_number": "R-2026-000042",
        "received_at": datetime(2026, 5, 14, 22, 30, tzinfo=UTC),
        "answer_by": date(2026, 5, 28),
        "refund_by": date(2026, 5, 28),
        "expected_by": date(2026, 6, 10),
        "promised_by": date(2026, 5, 12),
        "dispatched_at": datetime(2026, 5, 13, 9, 0, tzinfo=UTC),
        "amount": Money("1234.50", "PLN"),
        "lines": [{"name": "Kurtka", "quantity": 1}],
        "reason": "opened hygiene product",
        "accepted": True,
        "answer": "We will replace the item.",
        "remedy": "replacement",
        "status": "approved",
        "product_name": "Kurtka zimowa",
        "confirm_url": "https://returns.example/restock/confirm/t1",
        "unsubscribe_url": "https://returns.example/restock/unsubscribe/t1",
        "product_url": "https://shop.example/p/kurtka",
        "customer_email": "jan@example.pl",
    }


@pytest.mark.parametrize("language", ["pl", "en"])
@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_every_template_renders_in_both_languages(template: str, language: str) -> None:
    subject, text, html = render_message(template, language, full_context())
    assert subject and "\n" not in subject
    assert text.strip() and html.startswith("<!DOCTYPE html>")
    assert f'lang="{language}"' in html
    if TEMPLATES[template].case_link:
        assert STATUS in text and f'href="{STATUS}"' in html
    if TEMPLATES[template].audience == "customer":
        assert "Sklep Przykład" in html


def test_polish_receipt_formats_dates_times_and_money_for_a_polish_reader() -> None:
    _, text, _ = render_message("withdrawal_receipt", "pl", full_context())
    # 22:30 UTC on 14 May is already 15 May in Warsaw: the receipt shows the shop's local time
    assert "15 maja 2026 00:30:00 CEST" in text
    assert "najpóźniej do 28 maja 2026" in text
    subject, _, _ = render_message("refund_sent", "pl_PL", full_context())
    assert subject == "Zwrot 1\xa0234,50\xa0zł – zamówienie #1001"


def test_english_uses_english_formats_and_the_regional_variant() -> None:
    subject, _, _ = render_message("refund_sent", "en", full_context())
    assert subject == "Refund of PLN1,234.50 – order #1001"
    _, text, _ = render_message("complaint_received", "en_GB", full_context())
    assert "28 May 2026" in text


def test_customer_text_is_escaped_in_html_but_not_in_plain_text() -> None:
    context = full_context() | {"reason": "<script>alert(1)</script> O'Brien & Co"}
    _, text, html = render_message("return_declined", "en", context)
    assert "<script>alert(1)</script> O'Brien & Co" in text
    assert "<script>" not in html and "&lt;script&gt;" in html and "O&#39;Brien &amp; Co" in html


def test_a_missing_required_value_is_an_error_not_a_blank_deadline() -> None:
    context = full_context()
    del context["answer_by"]
    with pytest.raises(MissingContext, match="answer_by"):
        render_message("complaint_received", "pl", context)


def test_a_case_message_without_a_status_link_is_refused() -> None:
    context = full_context()
    del context["status_url"]
    with pytest.raises(MissingContext, match="status_url"):
        render_message("refund_sent", "pl", context)


def test_unknown_template_and_language_fallback() -> None:
    with pytest.raises(UnknownTemplate):
        render_message("no_such_event", "pl", full_context())
    assert language_of("de_DE") == "en"
    assert language_of("pl-PL") == "pl"
    assert language_of(None) == "en"
    assert language_of("xx-garbage-!!") == "en"
    subject, _, _ = render_message("refund_sent", "de", full_context())
    assert subject.startswith("Refund of")


def test_a_case_in_the_context_gives_its_number_and_a_signed_status_link(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AFTERSALES_SECRET_KEY", "unit-test-key")
    monkeypatch.setenv("AFTERSALES_PUBLIC_URL", "https://returns.example/")
    case = Case(
        id="case-1",
        number="C-2026-000007",
        shop_id="shop-a",
        type=CaseType.COMPLAINT,
        status="received",
        opened_at=datetime(2026, 5, 14, tzinfo=UTC),
    )
    context = {k: v for k, v in full_context().items() if k not in ("case_number", "status_url")}
    subject, text, _ = render_message("complaint_received", "pl", context | {"case": case})
    assert "C-2026-000007" in subject
    link = next(word for word in text.split() if word.startswith("https://returns.example/status/"))
    assert read_status_token(link.rsplit("/", 1)[1]) == ("shop-a", "case-1")


class SignaturePlugin:
    @hookimpl
    def aftersales_notification_render(self, message: Message) -> None:
        message.text += "\n-- \nSent by aftersales"


def test_compose_addresses_from_the_policy_and_lets_plugins_edit() -> None:
    policy = SimpleNamespace(
        shop=SimpleNamespace(name="Sklep Przykład", timezone="Europe/Warsaw"),
        notifications=SimpleNamespace(
            from_address="Sklep <sklep@example.pl>", reply_to="reklamacje@example.pl"
        ),
    )
    context = {k: v for k, v in full_context().items() if k != "shop_name"}
    message = compose_message(
        shop_id="shop-a",
        template="complaint_received",
        to="jan@example.pl",
        locale="pl",
        context=context,
        policy=policy,
        plugins=load_plugins(entrypoints=False, extra=[SignaturePlugin()]),
    )
    assert message.headers == {"From": "Sklep <sklep@example.pl>", "Reply-To": "reklamacje@example.pl"}
    assert message.case_number == "R-2026-000042"
    assert message.text.endswith("Sent by aftersales")
    assert message.html is not None and "Sklep Przykład" in message.html
