"""The merchant API over a real socket: keys, listing, decisions, goodwill refunds, reports, the CLI."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from aftersales.cli import app as cli

EMAIL = "john.doe@example.com"


def _merchant(service: Any, key: str | None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.Client(base_url=f"{service.url}/api/v1/shops/sklep", headers=headers, timeout=15)


def _return(service: Any, number: str, lines: list[dict[str, Any]], request_id: str) -> dict[str, Any]:
    with httpx.Client(base_url=service.url, timeout=15) as client:
        found = client.post(
            "/api/v1/shops/sklep/orders/lookup", json={"order_number": number, "email": EMAIL}
        )
        opened = client.post(
            "/api/v1/shops/sklep/returns",
            json={"order_pass": found.json()["order_pass"], "lines": lines, "request_id": request_id},
        )
        assert opened.status_code == 201, opened.text
        return dict(opened.json())


def test_keys_are_required_and_belong_to_one_shop(service: Any) -> None:
    key = service.api_key()
    other_key = service.api_key("inny")
    with _merchant(service, None) as anonymous:
        missing = anonymous.get("/cases")
        assert missing.status_code == 401 and missing.headers["www-authenticate"].startswith("Bearer")
        assert anonymous.get("/cases", headers={"Authorization": "Basic dXNlcjpwYXNz"}).status_code == 401
        assert anonymous.get("/cases", headers={"Authorization": "Bearer askey_made-up"}).status_code == 401
        assert anonymous.get("/cases", headers={"Authorization": f"Bearer {key}x"}).status_code == 401
    with _merchant(service, other_key) as other:
        refused = other.get("/cases")
        assert refused.status_code == 403 and "another shop" in refused.json()["error"]
        assert other.get("/reports/restock").status_code == 403
        assert other.post("/goodwill-refunds", json={"order_id": "1", "reason": "x"}).status_code == 403
    with _merchant(service, key) as merchant:
        assert merchant.get("/cases").status_code == 200


def test_a_case_of_another_shop_is_not_found_by_its_number(service: Any) -> None:
    order = service.add_order(shop_id="inny")
    with httpx.Client(base_url=service.url) as client:
        found = client.post(
            "/api/v1/shops/inny/orders/lookup", json={"order_number": order["number"], "email": EMAIL}
        )
        opened = client.post(
            "/api/v1/shops/inny/withdrawals",
            json={"order_pass": found.json()["order_pass"], "confirmed": True},
        ).json()
    with _merchant(service, service.api_key()) as merchant:
        assert merchant.get(f"/cases/{opened['case_number']}").status_code == 404
        assert merchant.post(f"/cases/{opened['case_number']}/receive", json={}).status_code == 404
        assert merchant.get("/cases").json()["total"] == 0


def test_cases_are_listed_newest_first_filtered_and_paged(service: Any) -> None:
    order = service.add_order()
    first = _return(service, order["number"], [{"line_item_id": "315", "reason": "wrong_size"}], "r1")
    service.clock.advance(timedelta(days=1))
    second = _return(service, order["number"], [{"line_item_id": "316", "reason": "damaged"}], "r2")
    with _merchant(service, service.api_key()) as merchant:
        listed = merchant.get("/cases", params={"limit": 1}).json()
        assert [c["case_number"] for c in listed["cases"]] == [second["case_number"]]
        assert (listed["total"], listed["next_offset"]) == (2, 1)
        rest = merchant.get("/cases", params={"limit": 1, "offset": 1}).json()
        assert [c["case_number"] for c in rest["cases"]] == [first["case_number"]] and rest[
            "next_offset"
        ] is None
        since = (datetime(2026, 3, 2, 12, 0, tzinfo=UTC)).isoformat()
        assert [
            c["case_number"] for c in merchant.get("/cases", params={"opened_from": since}).json()["cases"]
        ] == [second["case_number"]]
        assert merchant.get("/cases", params={"opened_to": since}).json()["total"] == 1
        assert merchant.get("/cases", params={"type": "complaint"}).json()["total"] == 0
        assert merchant.get("/cases", params={"status": second["status"]}).json()["total"] >= 1
        assert merchant.get("/cases", params={"type": "nonsense"}).status_code == 422
        assert merchant.get("/cases", params={"opened_from": "yesterday"}).status_code == 422
        assert merchant.get("/cases", params={"limit": 0}).status_code == 422


def test_a_return_in_review_is_approved_received_inspected_and_refunded(service: Any) -> None:
    order = service.add_order()
    case = _return(service, order["number"], [{"line_item_id": "316", "reason": "damaged"}], "r1")
    number = case["case_number"]
    with _merchant(service, service.api_key(label="Ola")) as merchant:
        detail = merchant.get(f"/cases/{number}").json()
        assert detail["status"] == "manual_review", detail
        assert detail["customer"]["email"] == EMAIL and detail["status_url"].startswith(
            service.url + "/status/"
        )
        assert detail["lines"][0]["name"].startswith("Ship Your Idea")
        approved = merchant.post(f"/cases/{number}/approve", json={"note": "photos look fine"})
        assert approved.status_code == 200 and approved.json()["status"] == "approved"
        assert approved.json()["timeline"][-1]["actor"] == "merchant:Ola"
        received = merchant.post(
            f"/cases/{number}/receive", json={"lines": [{"line_item_id": "316", "disposition": "restock"}]}
        )
        assert received.status_code == 200, received.text
        again = merchant.post(f"/cases/{number}/receive", json={})
        assert again.status_code == 422  # nothing more to receive: the workflow's reason comes back
        assert (
            merchant.post(f"/cases/{number}/answer", json={"decision": "accept", "text": "ok"}).status_code
            == 422
        )
    service.run()
    [refund] = service.shop.refunds(order["id"])
    assert refund["amount"] == "12.90"


def test_a_declined_return_and_an_answered_complaint(service: Any) -> None:
    order = service.add_order()
    case = _return(service, order["number"], [{"line_item_id": "315", "reason": "damaged"}], "r1")
    with httpx.Client(base_url=service.url) as client:
        complaint = client.post(
            "/api/v1/shops/sklep/complaints",
            json={
                "email": EMAIL,
                "order_number": order["number"],
                "description": "Broken zip",
                "remedy": "repair",
            },
        ).json()
    with _merchant(service, service.api_key()) as merchant:
        declined = merchant.post(f"/cases/{case['case_number']}/decline", json={"reason": "Worn outside"})
        assert declined.status_code == 200 and declined.json()["status"] == "declined"
        assert merchant.post(f"/cases/{case['case_number']}/decline", json={}).status_code == 422
        answered = merchant.post(
            f"/cases/{complaint['case_number']}/answer",
            json={"decision": "accept", "remedy": "repair", "text": "We will repair it."},
        )
        assert answered.status_code == 200, answered.text
        assert answered.json()["status"] == "answer_sent"
        assert merchant.post(f"/cases/{complaint['case_number']}/approve", json={}).status_code == 422


def test_a_goodwill_refund_is_paid_once_per_idempotency_key(service: Any) -> None:
    order = service.add_order()
    with _merchant(service, service.api_key()) as merchant:
        body = {"order_id": str(order["id"]), "reason": "Late parcel, sorry", "amount": "5.00"}
        first = merchant.post("/goodwill-refunds", json=body, headers={"Idempotency-Key": "gw-1"})
        assert first.status_code == 201, first.text
        again = merchant.post("/goodwill-refunds", json=body, headers={"Idempotency-Key": "gw-1"})
        assert again.json()["case_number"] == first.json()["case_number"]
        assert merchant.post("/goodwill-refunds", json={**body, "amount": "5.5.5"}).status_code == 422
        assert (
            merchant.post("/goodwill-refunds", json={**body, "amount": 5.0}).status_code == 422
        )  # never floats
        assert merchant.post("/goodwill-refunds", json={**body, "order_id": "999999"}).status_code == 404
    service.run()
    assert [r["amount"] for r in service.shop.refunds(order["id"])] == ["5.00"]


def test_reports(service: Any) -> None:
    service.variant_stock(0)
    with _merchant(service, service.api_key()) as merchant:
        guarantee = merchant.get("/reports/guarantee", params={"month": "2026-03"})
        assert guarantee.status_code == 200 and guarantee.json()["month"] == "2026-03"
        assert merchant.get("/reports/guarantee").status_code == 200
        assert merchant.get("/reports/guarantee", params={"month": "2026-13"}).status_code == 422
        restock = merchant.get("/reports/restock")
        assert restock.status_code == 200
        assert [v["variant_id"] for v in restock.json()["variants"]] == ["501"]


def test_api_keys_from_the_cli_are_shown_once_listed_without_secrets_and_revocable(
    service: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    db = service.runtime.db_url
    created = runner.invoke(cli, ["shop", "api-key", "create", "sklep", "--label", "ERP", "--db", db])
    assert created.exit_code == 0, created.output
    key = created.stdout.strip().splitlines()[-1]
    assert key.startswith("askey_")
    listed = runner.invoke(cli, ["shop", "api-key", "list", "sklep", "--json", "--db", db])
    assert listed.exit_code == 0 and key not in listed.stdout and '"label": "ERP"' in listed.stdout
    with _merchant(service, key) as merchant:
        assert merchant.get("/cases").status_code == 200
        key_id = json.loads(listed.stdout)[0]["id"]
        revoked = runner.invoke(cli, ["shop", "api-key", "revoke", "sklep", str(key_id), "--db", db])
        assert revoked.exit_code == 0, revoked.output
        assert merchant.get("/cases").status_code == 401
    assert runner.invoke(cli, ["shop", "api-key", "create", "nope", "--db", db]).exit_code == 1
    assert runner.invoke(cli, ["shop", "api-key", "revoke", "inny", str(key_id), "--db", db]).exit_code == 1


def test_received_units_are_inspected_one_by_one(service: Any) -> None:
    order = service.add_order()
    case = _return(
        service, order["number"], [{"line_item_id": "315", "quantity": 2, "reason": "damaged"}], "r1"
    )
    number = case["case_number"]
    with _merchant(service, service.api_key()) as merchant:
        merchant.post(f"/cases/{number}/approve", json={})
        received = merchant.post(f"/cases/{number}/receive", json={})
        assert received.status_code == 200, received.text
        inspected = merchant.post(
            f"/cases/{number}/inspect",
            json={
                "lines": [
                    {"line_item_id": "315", "quantity": 1, "disposition": "restock"},
                    {"line_item_id": "315", "quantity": 1, "disposition": "not_restocked"},
                ]
            },
        )
        assert inspected.status_code == 200, inspected.text
        dispositions = sorted((ln["disposition"], ln["quantity"]) for ln in inspected.json()["lines"])
        assert dispositions == [("not_restocked", 1), ("restock", 1)]
        assert merchant.post(f"/cases/{number}/inspect", json={"lines": []}).status_code == 422
