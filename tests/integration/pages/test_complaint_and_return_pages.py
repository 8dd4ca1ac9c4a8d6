"""The complaint form with photos (multipart, size and type limits) and a commercial return request."""

from __future__ import annotations

from typing import Any

import httpx

from aftersales.store.models import Attachment
from aftersales.workflows.complaints.attachments import MAX_BYTES

EMAIL = "john.doe@example.com"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200
PDF = b"%PDF-1.4\n" + b"%" * 100


def _complaint_form(service: Any, browser: httpx.Client, query: str = "") -> tuple[str, str]:
    page = browser.get(f"/s/sklep/complaint{query}")
    assert page.status_code == 200
    request_id = page.text.split('name="request_id" value="', 1)[1].split('"', 1)[0]
    return service.csrf(page.text), request_id


def _attachments(service: Any) -> list[tuple[str, str, int]]:
    with service.runtime.read_session() as session:
        return [
            (a.filename, a.content_type, a.size)
            for a in session.query(Attachment).order_by(Attachment.filename)
        ]


def test_a_complaint_with_photos_from_the_order_page_opens_one_case(service: Any) -> None:
    order = service.add_order()
    with service.client() as browser:
        order_path = service.order_page_path(browser, order["number"])
        order_pass = order_path.rsplit("/", 1)[1]
        token, request_id = _complaint_form(service, browser, f"?order_pass={order_pass}")
        form = {
            "csrf_token": token,
            "request_id": request_id,
            "order_pass": order_pass,
            "description": "The sole came off after a week.",
            "remedy": "replace",
            "email": "ignored@example.com",  # the order pass decides who is complaining
        }
        files = [
            ("photos", ("sole.png", PNG, "image/png")),
            ("photos", ("receipt.pdf", PDF, "application/pdf")),
        ]
        sent = browser.post("/s/sklep/complaint", data=form, files=files)
        assert sent.status_code == 303, sent.text
        again = browser.post("/s/sklep/complaint", data=form, files=files)  # a double click
        assert again.headers["location"] == sent.headers["location"]
        status = browser.get(sent.headers["location"])
        assert status.status_code == 200
        assert "We have received your request" in status.text and "Complaint" in status.text
    assert service.case_row_count() == 1
    assert _attachments(service) == [
        ("receipt.pdf", "application/pdf", len(PDF)),
        ("sole.png", "image/png", len(PNG)),
    ]
    service.run()
    assert any(
        "complaint" in str(m["Subject"]).lower() or "reklamac" in str(m["Subject"]).lower()
        for m in service.sink.to(EMAIL)
    )


def test_a_file_that_is_not_a_photo_is_refused_with_its_name(service: Any) -> None:
    with service.client() as browser:
        token, request_id = _complaint_form(service, browser)
        answer = browser.post(
            "/s/sklep/complaint",
            data={"csrf_token": token, "request_id": request_id, "email": EMAIL, "description": "broken"},
            files=[("photos", ("photo.jpg", b"MZ\x90\x00 an executable", "image/jpeg"))],
        )
    assert answer.status_code == 422
    assert "photo.jpg" in answer.text and "not a photo or PDF" in answer.text
    assert "broken" in answer.text  # what was typed is kept
    assert service.case_row_count() == 0 and _attachments(service) == []


def test_too_many_files_are_refused(service: Any) -> None:
    with service.client() as browser:
        token, request_id = _complaint_form(service, browser)
        answer = browser.post(
            "/s/sklep/complaint",
            data={"csrf_token": token, "request_id": request_id, "email": EMAIL, "description": "broken"},
            files=[("photos", (f"p{i}.png", PNG, "image/png")) for i in range(6)],
        )
    assert answer.status_code == 422 and "at most 5" in answer.text
    assert service.case_row_count() == 0


def test_a_file_over_the_limit_is_refused_and_an_oversized_body_is_cut_off(service: Any) -> None:
    big = PNG + b"\x00" * MAX_BYTES
    with service.client() as browser:
        token, request_id = _complaint_form(service, browser)
        form = {"csrf_token": token, "request_id": request_id, "email": EMAIL, "description": "broken"}
        answer = browser.post(
            "/s/sklep/complaint", data=form, files=[("photos", ("big.png", big, "image/png"))]
        )
        assert answer.status_code == 422 and "big.png" in answer.text and "over the limit" in answer.text
        huge = browser.post(
            "/s/sklep/complaint",
            data=form,
            files=[("photos", (f"big{i}.png", big, "image/png")) for i in range(6)],
        )
        assert huge.status_code == 413
    assert service.case_row_count() == 0


def test_a_return_request_names_lines_quantities_and_a_reason(service: Any) -> None:
    order = service.add_order()
    with service.client() as browser:
        order_path = service.order_page_path(browser, order["number"])
        form_page = browser.get(f"{order_path}/return")
        assert form_page.status_code == 200 and "Wrong size" in form_page.text
        token = service.csrf(form_page.text)
        nothing = browser.post(f"{order_path}/return", data={"csrf_token": token, "qty_315": "0"})
        assert nothing.status_code == 422 and "Choose at least one item" in nothing.text
        done = browser.post(
            f"{order_path}/return",
            data={
                "csrf_token": token,
                "qty_315": "2",
                "qty_316": "0",
                "reason": "wrong_size",
                "request_id": "abc",
            },
        )
        assert done.status_code == 303
        status = browser.get(done.headers["location"])
        assert "Return" in status.text and "Woo Single #1" in status.text
        # the order page now shows the request and fewer returnable units
        page = browser.get(order_path)
        assert "Your requests about this order" in page.text
        assert "/status/" in page.text
        # more units than are left are refused by the workflow with its reason
        refused = browser.post(
            f"{order_path}/return",
            data={
                "csrf_token": token,
                "qty_316": "1",
                "qty_315": "1",
                "reason": "other",
                "request_id": "abd",
            },
        )
        assert refused.status_code == 303  # qty_315 is capped at what is left (0), only line 316 is asked for
    assert service.case_row_count() == 2


def test_a_merchants_answer_shown_on_the_status_page_has_reached_the_customer(service: Any) -> None:
    """Art. 7a u.p.k.: the 14-day clock stops when the answer reaches the consumer."""
    with httpx.Client(base_url=service.url) as client:
        opened = client.post(
            "/api/v1/shops/sklep/complaints",
            json={"email": EMAIL, "description": "The zip broke.", "remedy": "repair"},
        ).json()
        key = service.api_key(label="Ola")
        answered = client.post(
            f"/api/v1/shops/sklep/cases/{opened['case_number']}/answer",
            json={"decision": "reject", "text": "The zip was torn by force."},
            headers={"Authorization": f"Bearer {key}"},
        )
        assert answered.json()["status"] == "answer_sent"
    with service.client() as browser:
        page = browser.get(f"/status/{opened['status_token']}")
    assert page.status_code == 200
    assert "Complaint not accepted" in page.text
    assert "The zip was torn by force." in page.text  # the merchant's words are shown, the system's are not
    with httpx.Client(base_url=service.url) as client:
        detail = client.get(
            f"/api/v1/shops/sklep/cases/{opened['case_number']}", headers={"Authorization": f"Bearer {key}"}
        ).json()
    assert detail["status"] == "rejected"
    assert any(e["event"] == "answer_rejected" for e in detail["timeline"])
