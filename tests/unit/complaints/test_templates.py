"""The messages this workflow added render in both languages with the context the workflow passes."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from aftersales.notify.render import render_message

BASE = {
    "shop_name": "Sklep Testowy",
    "timezone": "Europe/Warsaw",
    "case_number": "C-2026-000042",
    "customer_name": "Anna",
    "order_number": "1001",
    "product": "Czajnik",
    "received_at": datetime(2026, 5, 4, 10, 0, tzinfo=UTC),
    "answer_by": "2026-05-18",
    "status_url": "https://sklep.example/status/t",
}

CASES = {
    "complaint_order_needed": {},
    "complaint_alert": {
        "title": "first response overdue",
        "detail": "nobody answered",
        "customer_email": "a@b.pl",
    },
    "loaner_overdue": {"serial": "LN-7", "due_back_at": datetime(2026, 5, 20, 22, 0, tzinfo=UTC)},
    "pickup_order": {
        "reference": "PU-C-2026-000042",
        "purpose": "repair",
        "pickup_name": "Anna",
        "pickup_email": "a@b.pl",
        "pickup_phone": None,
        "pickup_address": None,
        "status_url": "",
    },
}


@pytest.mark.parametrize("language", ["pl", "en"])
@pytest.mark.parametrize("template", sorted(CASES))
def test_renders(template: str, language: str) -> None:
    subject, text, html = render_message(template, language, {**BASE, **CASES[template]})
    assert subject and "\n" not in subject
    assert "C-2026-000042" in subject
    assert text.strip() and html.startswith("<!DOCTYPE html>")


def test_the_order_request_states_the_deadline_and_the_pickup_has_no_customer_link() -> None:
    _, text, _ = render_message("complaint_order_needed", "en", {**BASE, "answer_by": date(2026, 5, 18)})
    assert "May 18, 2026" in text and "order number" in text
    _, text, html = render_message("pickup_order", "pl", {**BASE, **CASES["pickup_order"]})
    assert "sklep.example/status" not in html
    assert "Telefon: -" in text
