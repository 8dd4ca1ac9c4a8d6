"""Back in stock through the pages: subscribe, confirm by POST only, one-click unsubscribe, tracked link."""

from __future__ import annotations

import re
from email.message import EmailMessage
from typing import Any

import httpx

SHOPPER = "anna@example.com"


def _link(message: EmailMessage, path: str) -> str:
    part = message.get_body(("plain",))
    text = part.get_content() if part is not None else ""
    found = re.search(re.escape(path) + r"([A-Za-z0-9_.\-]+)", text)
    assert found, f"no {path} link in {text!r}"
    return path + found.group(1)


def _subscribe(service: Any, browser: httpx.Client, email: str = SHOPPER) -> httpx.Response:
    form = browser.get("/s/sklep/restock/subscribe?variant_id=501&product_id=500")
    assert form.status_code == 200
    return browser.post(
        "/s/sklep/restock/subscribe",
        data={
            "csrf_token": service.csrf(form.text),
            "variant_id": "501",
            "product_id": "500",
            "email": email,
        },
    )


def test_an_alert_is_confirmed_only_by_the_pages_post_and_stopped_with_one_click(service: Any) -> None:
    service.variant_stock(0)
    with service.client() as browser:
        answer = _subscribe(service, browser)
        assert answer.status_code == 200 and "check your inbox to confirm" in answer.text
        # the same address again: the same neutral answer
        assert "check your inbox to confirm" in _subscribe(service, browser).text
    service.run()
    [confirmation] = service.sink.to(SHOPPER)
    confirm_path = _link(confirmation, "/restock/confirm/")

    with httpx.Client(base_url=service.url, headers={"Accept-Language": "en"}) as scanner:
        # a mail scanner opening the link sees a button and confirms nothing
        page = scanner.get(confirm_path)
        assert page.status_code == 200 and "Confirm my alert" in page.text
        # a POST without the page's CSRF token confirms nothing either
        assert scanner.post(confirm_path, data={}).status_code == 403
    with service.client() as browser:
        page = browser.get(confirm_path)
        confirmed = browser.post(confirm_path, data={"csrf_token": service.csrf(page.text)})
        assert confirmed.status_code == 200 and "Your alert is confirmed" in confirmed.text

    service.variant_stock(5)
    alerts = [m for m in service.sink.to(SHOPPER) if "/restock/go/" in str(m.get_body(("plain",)))]
    assert len(alerts) == 1
    [alert] = alerts
    assert alert["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    go_path = _link(alert, "/restock/go/")
    unsubscribe_path = _link(alert, "/restock/unsubscribe/")

    with httpx.Client(base_url=service.url) as mail_client:
        click = mail_client.get(go_path)
        assert click.status_code == 303
        assert click.headers["location"].startswith(service.shop.url)  # the product at the shop
        # RFC 8058: the mail client POSTs the marker, no page, no cookie, no CSRF token
        one_click = mail_client.post(unsubscribe_path, data={"List-Unsubscribe": "One-Click"})
        assert one_click.status_code == 200
        # no Accept-Language from a mail client: the shop's own language
        assert "Nie będziesz już otrzymywać tych powiadomień" in one_click.text
    with service.runtime.read_session() as session:
        from aftersales.store.models import SubscriptionRow

        [row] = session.query(SubscriptionRow).all()
        assert row.status == "unsubscribed"


def test_the_unsubscribe_page_has_a_button_and_forged_links_are_refused(service: Any) -> None:
    service.variant_stock(0)
    with service.client() as browser:
        _subscribe(service, browser)
    service.run()
    [confirmation] = service.sink.to(SHOPPER)
    unsubscribe_path = _link(confirmation, "/restock/unsubscribe/")
    with service.client() as browser:
        page = browser.get(unsubscribe_path)
        assert page.status_code == 200 and ">Unsubscribe</button>" in page.text
        done = browser.post(unsubscribe_path, data={"csrf_token": service.csrf(page.text)})
        assert done.status_code == 200 and "You will not receive these alerts any more" in done.text
        sid = unsubscribe_path.split("/")[-1].split(".")[0]
        for forged in (f"{sid}.0.AAAAAAAAAAAAAAAAAAAAAA", "1.0.x", "garbage"):
            assert browser.get(f"/restock/unsubscribe/{forged}").status_code == 404
            answer = browser.post(f"/restock/unsubscribe/{forged}", data={"List-Unsubscribe": "One-Click"})
            assert answer.status_code == 404
        assert browser.get("/restock/confirm/garbage").status_code == 404
        assert browser.get("/restock/go/garbage").status_code == 404


def test_subscribing_to_a_product_in_stock_says_alerts_are_unavailable(service: Any) -> None:
    service.variant_stock(3)
    with service.client() as browser:
        answer = _subscribe(service, browser)
    assert answer.status_code == 422 and "Alerts are not available for this product" in answer.text
