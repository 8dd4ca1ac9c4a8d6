"""The customer API over a real socket: lookup, returns, withdrawals, complaints, back in stock, status."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest

EMAIL = "john.doe@example.com"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _client(service: Any) -> httpx.Client:
    return httpx.Client(base_url=service.url, timeout=15)


def _pass(client: httpx.Client, number: str, shop: str = "sklep") -> str:
    found = client.post(f"/api/v1/shops/{shop}/orders/lookup", json={"order_number": number, "email": EMAIL})
    assert found.status_code == 200, found.text
    return str(found.json()["order_pass"])


def test_lookup_answers_the_order_and_a_pass_and_is_neutral_otherwise(service: Any) -> None:
    order = service.add_order()
    with _client(service) as client:
        found = client.post(
            "/api/v1/shops/sklep/orders/lookup", json={"order_number": order["number"], "email": EMAIL}
        )
        assert found.status_code == 200
        body = found.json()
        assert body["order"]["order_number"] == order["number"]
        assert [(ln["line_item_id"], ln["returnable"]) for ln in body["order"]["lines"]] == [
            ("315", 2),
            ("316", 1),
        ]
        assert found.headers["cache-control"] == "no-store"
        wrong = client.post(
            "/api/v1/shops/sklep/orders/lookup",
            json={"order_number": order["number"], "email": "x@example.com"},
        )
        unknown = client.post(
            "/api/v1/shops/sklep/orders/lookup", json={"order_number": "424242", "email": EMAIL}
        )
        assert wrong.status_code == unknown.status_code == 404
        assert wrong.json() == unknown.json()
        assert (
            client.post(
                "/api/v1/shops/nope/orders/lookup", json={"order_number": "1", "email": EMAIL}
            ).status_code
            == 404
        )


def test_lookups_are_rate_limited_per_client(service: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AFTERSALES_LOOKUP_LIMIT", "2")
    order = service.add_order()
    with _client(service) as client:
        for guess in ("a@example.com", "b@example.com"):
            assert (
                client.post(
                    "/api/v1/shops/sklep/orders/lookup", json={"order_number": "1", "email": guess}
                ).status_code
                == 404
            )
        limited = client.post(
            "/api/v1/shops/sklep/orders/lookup", json={"order_number": order["number"], "email": EMAIL}
        )
        assert limited.status_code == 429 and "too many" in limited.json()["error"]


@pytest.mark.parametrize(
    ("headers", "content", "status"),
    [
        ({"Content-Type": "text/plain"}, b'{"order_number": "1", "email": "a@b.c"}', 415),
        ({"Content-Type": "application/x-www-form-urlencoded"}, b"order_number=1&email=a%40b.c", 415),
        ({"Content-Type": "application/json"}, b"{not json", 400),
        (
            {"Content-Type": "application/json"},
            b'{"order_number": "1", "email": "a@b.c", "admin": true}',
            422,
        ),
        ({"Content-Type": "application/json"}, b"[]", 422),
        ({"Content-Type": "application/json"}, b'{"order_number": "' + b"1" * 300_000 + b'"}', 413),
    ],
)
def test_bodies_that_are_not_the_documented_json_are_refused(
    service: Any, headers: dict[str, str], content: bytes, status: int
) -> None:
    with _client(service) as client:
        answer = client.post("/api/v1/shops/sklep/orders/lookup", content=content, headers=headers)
    assert answer.status_code == status
    assert answer.headers["content-type"] == "application/json"
    assert "error" in answer.json()


def test_a_withdrawal_through_the_api_needs_the_confirmation_and_answers_the_status_link(
    service: Any,
) -> None:
    order = service.add_order()
    with _client(service) as client:
        order_pass = _pass(client, order["number"])
        unconfirmed = client.post("/api/v1/shops/sklep/withdrawals", json={"order_pass": order_pass})
        assert unconfirmed.status_code == 422
        body = {"order_pass": order_pass, "confirmed": True, "request_id": "w-1", "locale": "en"}
        opened = client.post("/api/v1/shops/sklep/withdrawals", json=body)
        assert opened.status_code == 201, opened.text
        case = opened.json()
        assert case["type"] == "withdrawal" and case["status"] == "approved"
        assert (
            client.post("/api/v1/shops/sklep/withdrawals", json=body).json()["case_number"]
            == case["case_number"]
        )
        status = client.get(f"/api/v1/status/{case['status_token']}")
        assert status.status_code == 200
        seen = status.json()
        assert seen["statement_at"].startswith("2026-03-02T09:00")
        assert [e["event"] for e in seen["timeline"]][:1] == ["opened"]
        assert all(
            "actor" not in e or e["actor"] is None for e in seen["timeline"]
        )  # who did it stays internal
        assert client.get(f"/api/v1/status/{case['status_token']}x").status_code == 404
    service.run()
    assert any("withdraw" in str(m["Subject"]).lower() for m in service.sink.to(EMAIL))


def test_an_order_pass_of_one_shop_is_refused_by_another(service: Any) -> None:
    order = service.add_order()
    with _client(service) as client:
        order_pass = _pass(client, order["number"])
        other = client.post(
            "/api/v1/shops/inny/returns", json={"order_pass": order_pass, "lines": [{"line_item_id": "315"}]}
        )
        assert other.status_code == 404
        forged = client.post(
            "/api/v1/shops/sklep/returns",
            json={"order_pass": order_pass[:-2] + "xx", "lines": [{"line_item_id": "315"}]},
        )
        assert forged.status_code == 404
    assert service.case_row_count() == 0


def test_a_return_of_more_units_than_bought_is_refused_with_the_reason(service: Any) -> None:
    order = service.add_order()
    with _client(service) as client:
        order_pass = _pass(client, order["number"])
        refused = client.post(
            "/api/v1/shops/sklep/returns",
            json={
                "order_pass": order_pass,
                "lines": [{"line_item_id": "316", "quantity": 5, "reason": "wrong_size"}],
            },
        )
        assert refused.status_code == 422 and refused.json()["error"]
        foreign = client.post(
            "/api/v1/shops/sklep/returns", json={"order_pass": order_pass, "lines": [{"line_item_id": "999"}]}
        )
        assert foreign.status_code == 422
    assert service.case_row_count() == 0


def test_a_complaint_with_a_base64_photo_and_a_refused_file(service: Any) -> None:
    with _client(service) as client:
        payload = {
            "email": EMAIL,
            "description": "The zip broke.",
            "remedy": "repair",
            "attachments": [{"filename": "zip.png", "content_base64": base64.b64encode(PNG).decode()}],
        }
        opened = client.post("/api/v1/shops/sklep/complaints", json=payload)
        assert opened.status_code == 201, opened.text
        assert opened.json()["type"] == "complaint"
        bad = {
            **payload,
            "attachments": [{"filename": "x.exe", "content_base64": base64.b64encode(b"MZ...").decode()}],
        }
        refused = client.post("/api/v1/shops/sklep/complaints", json=bad)
        assert refused.status_code == 422 and "x.exe" in refused.json()["error"]
        not_base64 = {**payload, "attachments": [{"filename": "a.png", "content_base64": "%%%"}]}
        assert client.post("/api/v1/shops/sklep/complaints", json=not_base64).status_code == 422


def test_back_in_stock_subscribe_confirm_and_unsubscribe(service: Any) -> None:
    service.variant_stock(0)
    with _client(service) as client:
        answer = client.post(
            "/api/v1/shops/sklep/restock/subscriptions",
            json={"variant_id": "501", "product_id": "500", "email": "ola@example.com", "locale": "pl"},
        )
        assert answer.status_code == 202 and answer.json()["outcome"] == "accepted"
        service.run()
        [mail] = service.sink.to("ola@example.com")
        text = mail.get_body(("plain",)).get_content()
        confirm = text.split("/restock/confirm/", 1)[1].split()[0]
        unsubscribe = text.split("/restock/unsubscribe/", 1)[1].split()[0]
        assert (
            client.post("/api/v1/restock/confirm", json={"token": confirm}).json()["outcome"] == "confirmed"
        )
        assert client.post("/api/v1/restock/confirm", json={"token": confirm + "x"}).status_code == 404
        done = client.post("/api/v1/restock/unsubscribe", json={"token": unsubscribe})
        assert done.status_code == 200 and done.json()["outcome"] == "unsubscribed"
        assert client.post("/api/v1/restock/unsubscribe", json={"token": "1.0.forged"}).status_code == 404


def test_the_same_request_id_from_two_customers_opens_two_cases(service: Any) -> None:
    """An idempotency key is scoped to the order: it can never hand one customer another's case."""
    mine = service.add_order()
    theirs = service.add_order(
        id=1001, number="1001", billing={"first_name": "Ewa", "email": "ewa@example.com"}
    )
    with _client(service) as client:
        body = {"confirmed": True, "request_id": "1"}
        first = client.post(
            "/api/v1/shops/sklep/withdrawals", json={**body, "order_pass": _pass(client, mine["number"])}
        )
        found = client.post(
            "/api/v1/shops/sklep/orders/lookup",
            json={"order_number": theirs["number"], "email": "ewa@example.com"},
        )
        second = client.post(
            "/api/v1/shops/sklep/withdrawals", json={**body, "order_pass": found.json()["order_pass"]}
        )
    assert first.status_code == second.status_code == 201
    assert first.json()["case_number"] != second.json()["case_number"]
