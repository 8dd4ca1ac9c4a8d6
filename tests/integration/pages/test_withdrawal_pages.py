"""A customer finds their order and withdraws from the contract through the pages (Art. 11a CRD).

Everything over real sockets: the pages at a live uvicorn, the engine inline, the receipt at an
SMTP server, the refund at a fake WooCommerce shop.
"""

from __future__ import annotations

import re
from typing import Any

import httpx

EMAIL = "john.doe@example.com"


def test_a_withdrawal_takes_two_steps_records_the_time_and_mails_a_receipt(service: Any) -> None:
    order = service.add_order()
    with service.client() as browser:
        order_path = service.order_page_path(browser, order["number"])
        page = browser.get(order_path)
        assert page.status_code == 200
        assert "Withdraw from contract" in page.text
        assert f"{order_path}/withdraw" in page.text

        step1 = browser.get(f"{order_path}/withdraw")
        assert step1.status_code == 200
        assert "Step 1 of 2" in step1.text
        # everything still returnable is preselected: 2 × line 315, 1 × line 316
        assert re.search(r'name="qty_315".*?<option value="2" selected>', step1.text, re.S)

        review = browser.post(
            f"{order_path}/withdraw",
            data={"csrf_token": service.csrf(step1.text), "qty_315": "1", "qty_316": "0"},
        )
        assert review.status_code == 200
        assert "Confirm withdrawal" in review.text and "Step 2 of 2" in review.text
        assert service.case_row_count() == 0  # nothing is recorded before the confirmation
        statement = re.search(r'name="statement" value="([^"]+)"', review.text)
        assert statement is not None

        confirm = {"csrf_token": service.csrf(review.text), "statement": statement.group(1)}
        done = browser.post(f"{order_path}/withdraw/confirm", data=confirm)
        assert done.status_code == 303
        location = done.headers["location"]
        assert location.startswith("/status/") and location.endswith("?withdrawn=1")
        # a double click records one statement
        again = browser.post(f"{order_path}/withdraw/confirm", data=confirm)
        assert again.headers["location"] == location
        assert service.case_row_count() == 1

        status = browser.get(location)
        assert status.status_code == 200
        assert "Your withdrawal has been recorded" in status.text
        assert "March 2, 2026" in status.text and "10:00" in status.text  # Warsaw time of the statement
        assert "j***@example.com" in status.text

    service.run()
    [receipt] = [m for m in service.sink.wait_for(1) if "withdraw" in str(m["Subject"]).lower()]
    assert receipt["To"] == EMAIL
    text = receipt.get_body(preferencelist=("plain",)).get_content()
    assert "March 2, 2026" in text  # the statement's date and time on the durable medium
    assert location.split("?")[0] in text  # the signed status link, as in every message


def test_the_pages_speak_polish_when_the_browser_asks_for_it(service: Any) -> None:
    order = service.add_order()
    with service.client(headers={"Accept-Language": "pl-PL,pl;q=0.9,en;q=0.5"}) as browser:
        order_path = service.order_page_path(browser, order["number"])
        page = browser.get(order_path)
        assert "Odstąp od umowy" in page.text and 'lang="pl"' in page.text
        english = browser.get(f"{order_path}?lang=en")
        assert "Withdraw from contract" in english.text
        # the choice is remembered for the next page
        assert "Withdraw from contract" in browser.get(order_path).text


def test_a_statement_edited_between_the_steps_is_refused(service: Any) -> None:
    order = service.add_order()
    with service.client() as browser:
        order_path = service.order_page_path(browser, order["number"])
        step1 = browser.get(f"{order_path}/withdraw")
        review = browser.post(
            f"{order_path}/withdraw",
            data={"csrf_token": service.csrf(step1.text), "qty_315": "2", "qty_316": "1"},
        )
        statement = re.search(r'name="statement" value="([^"]+)"', review.text)
        assert statement is not None
        forged = statement.group(1)[:-3] + ("AAA" if not statement.group(1).endswith("AAA") else "BBB")
        refused = browser.post(
            f"{order_path}/withdraw/confirm",
            data={"csrf_token": service.csrf(review.text), "statement": forged},
        )
        assert refused.status_code == 400
    assert service.case_row_count() == 0


def test_proof_of_dispatch_on_the_status_page_refunds_the_withdrawal(service: Any) -> None:
    order = service.add_order()
    with service.client() as browser:
        order_path = service.order_page_path(browser, order["number"])
        step1 = browser.get(f"{order_path}/withdraw")
        review = browser.post(
            f"{order_path}/withdraw",
            data={"csrf_token": service.csrf(step1.text), "qty_315": "0", "qty_316": "1"},
        )
        statement = re.search(r'name="statement" value="([^"]+)"', review.text)
        assert statement is not None
        done = browser.post(
            f"{order_path}/withdraw/confirm",
            data={"csrf_token": service.csrf(review.text), "statement": statement.group(1)},
        )
        status_path = done.headers["location"].split("?")[0]
        service.run()
        status = browser.get(status_path)
        assert "I have sent the parcel" in status.text
        sent = browser.post(
            status_path,
            data={
                "csrf_token": service.csrf(status.text),
                "tracking_number": "PL123456",
                "carrier": "InPost",
            },
        )
        assert sent.status_code == 303
        service.run()
        after = browser.get(status_path)
        assert "Refunded" in after.text
        assert "You sent the goods back" in after.text
    [refund] = service.shop.refunds(order["id"])
    assert refund["amount"] == "12.90"  # the 12.00 line with its 0.90 tax


def test_every_page_answer_carries_the_security_headers(service: Any) -> None:
    with httpx.Client(base_url=service.url) as client:
        page = client.get("/s/sklep/")
    assert page.status_code == 200
    csp = page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "script-src" not in csp and "default-src 'none'" in csp
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["x-content-type-options"] == "nosniff"
    cookie = page.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
