"""A customer withdraws from the contract in a real browser (headless Chromium, Debian's ``chromium``).

Anna Nowak bought two mugs and a T-shirt. In the shop's customer pages she finds the order
by its number and her e-mail, presses **Withdraw from contract**, keeps the T-shirt, checks
the statement and presses **Confirm withdrawal** (the two steps of Art. 11a CRD). The page
tells her the date and time her statement was received; the receipt with the same date and
time reaches her inbox (an aiosmtpd server), carrying the signed link to her case. She opens
it, enters the parcel's tracking number, and — proof of dispatch being enough for a withdrawal
— the refund is paid at the shop (a fake WooCommerce over HTTP) and shown on the page.

The service is the real one (uvicorn on a free port, the engine inline on SQLite); Playwright
drives the browser. A screenshot of the confirmation page is kept in the test's directory.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _harness() -> Any:
    """The service harness of the page tests (a conftest cannot be imported by name under importlib mode)."""
    name = "aftersales_tests_service_harness"
    if name not in sys.modules:
        path = Path(__file__).parents[1] / "integration" / "pages" / "conftest.py"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


migrated_template = _harness().migrated_template
service = _harness().service

ANNA = "anna.nowak@example.com"


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary (install Debian's 'chromium': make browser)")
def test_a_withdrawal_through_the_pages_in_chromium_ends_in_a_receipt_and_a_refund(
    service: Any, tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    billing = {"first_name": "Anna", "last_name": "Nowak", "email": ANNA, "country": "PL"}
    order = service.add_order(billing=billing)
    number = str(order["number"])

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_context(locale="en-GB", viewport={"width": 1000, "height": 1100}).new_page()
            page.goto(f"{service.url}/s/sklep/")
            page.get_by_label("Order number").fill(number)
            page.get_by_label("E-mail address").fill(ANNA)
            page.get_by_role("button", name="Find order").click()

            expect(page.get_by_role("heading", name=f"Order {number}")).to_be_visible()
            page.get_by_role("link", name="Withdraw from contract").click()

            # step 1: what the withdrawal covers; she keeps the T-shirt (line 316)
            expect(page.get_by_text("Step 1 of 2")).to_be_visible()
            page.locator('select[name="qty_316"]').select_option("0")
            page.get_by_role("button", name="Continue").click()

            # step 2: the statement as it will be recorded, then the confirmation button
            expect(page.get_by_text("Step 2 of 2")).to_be_visible()
            statement = page.locator(".statement")
            expect(statement).to_contain_text("I hereby withdraw from my contract")
            expect(statement).to_contain_text("Woo Single #1 × 2")
            expect(statement).not_to_contain_text("Ship Your Idea")
            assert service.case_row_count() == 0
            page.get_by_role("button", name="Confirm withdrawal").click()

            expect(page.get_by_role("heading", name="Your withdrawal has been recorded")).to_be_visible()
            confirmation = page.locator(".card.success")
            expect(confirmation).to_contain_text("March 2, 2026, 10:00")  # the statement's time in Warsaw
            expect(confirmation).to_contain_text("a***@example.com")
            page.screenshot(path=str(tmp_path / "withdrawal-confirmation.png"), full_page=True)

            # the receipt on a durable medium: an e-mail with the statement's date and time
            service.run()
            [receipt] = [m for m in service.sink.to(ANNA) if "withdraw" in str(m["Subject"]).lower()]
            text = receipt.get_body(("plain",)).get_content()
            assert "March 2, 2026" in text and "10:00" in text
            link = re.search(r"https?://\S+/status/\S+", text)
            assert link is not None, text

            # the link in the e-mail opens the case; she reports the parcel's tracking number
            page.goto(link.group(0))
            expect(page.locator(".badge")).to_have_text("Approved: waiting for the goods")
            page.get_by_label("Tracking number").fill("PL0123456789")
            page.get_by_label("Carrier").fill("InPost")
            page.get_by_role("button", name="I have sent the parcel").click()
            expect(page.get_by_text("You sent the goods back")).to_be_visible()

            service.run()
            page.reload()
            expect(page.locator(".badge")).to_have_text("Refunded")
            expect(page.get_by_text("Refund sent")).to_be_visible()
        finally:
            browser.close()

    [refund] = service.shop.refunds(order["id"])
    assert refund["amount"] == "6.45"  # both mugs with their tax; the T-shirt is kept
    assert (tmp_path / "withdrawal-confirmation.png").stat().st_size > 10_000
