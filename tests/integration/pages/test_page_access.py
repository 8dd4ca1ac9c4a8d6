"""Who may see and do what on the customer pages: lookups, CSRF, other shops, forged links."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from aftersales.web.api.lookup import lookup_count

EMAIL = "john.doe@example.com"


def test_a_lookup_with_the_wrong_email_reads_like_an_unknown_order(service: Any) -> None:
    order = service.add_order()
    with service.client() as browser:
        wrong_email = service.lookup(browser, order["number"], email="someone@example.com")
        no_order = service.lookup(browser, "999999")
        found = service.lookup(browser, f"#{order['number']}", email=EMAIL.upper())
    assert wrong_email.status_code == no_order.status_code == 404
    message = "We could not find an order with this number and e-mail address."
    assert message in wrong_email.text and message in no_order.text
    assert found.status_code == 303 and found.headers["location"].startswith("/s/sklep/orders/")


def test_repeated_failed_lookups_are_refused_for_a_while(
    service: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AFTERSALES_LOOKUP_LIMIT", "3")
    order = service.add_order()
    with service.client() as browser:
        statuses = [
            service.lookup(browser, "1000", email=f"guess{i}@example.com").status_code for i in range(3)
        ]
        assert statuses == [404, 404, 404]
        limited = service.lookup(browser, order["number"])
        assert limited.status_code == 429 and "Too many attempts" in limited.text
        # another shop keeps its own count
        assert service.lookup(browser, order["number"], shop_id="inny").status_code == 404
        # the next window starts afresh (the engine clock moves on by the window)
        service.clock.advance(timedelta(minutes=15))
        assert service.lookup(browser, order["number"]).status_code == 303
        # counters of past windows are dropped with the next failure: the table does not grow
        assert service.lookup(browser, "1000", email="again@example.com").status_code == 404
    with service.runtime.read_session() as session:
        assert lookup_count(session, "sklep") == 1


@pytest.mark.parametrize(
    "form",
    [
        {},  # no token at all
        {"csrf_token": "0" * 64},  # a made-up token
    ],
)
def test_a_form_post_without_a_valid_csrf_token_is_refused(service: Any, form: dict[str, str]) -> None:
    order = service.add_order()
    with service.client() as browser:
        browser.get("/s/sklep/")
        answer = browser.post("/s/sklep/", data={**form, "order_number": order["number"], "email": EMAIL})
    assert answer.status_code == 403
    assert "The form has expired" in answer.text


def test_a_token_from_another_browser_does_not_pass(service: Any) -> None:
    """Double submit: the field must belong to *this* browser's cookie."""
    order = service.add_order()
    with service.client() as attacker, service.client() as victim:
        token = service.csrf(attacker.get("/s/sklep/").text)
        victim.get("/s/sklep/")
        answer = victim.post(
            "/s/sklep/", data={"csrf_token": token, "order_number": order["number"], "email": EMAIL}
        )
    assert answer.status_code == 403


def test_every_state_changing_form_checks_the_csrf_token(service: Any) -> None:
    order = service.add_order()
    with service.client() as browser:
        order_path = service.order_page_path(browser, order["number"])
        for path in (
            "/s/sklep/",
            f"{order_path}/return",
            f"{order_path}/withdraw",
            f"{order_path}/withdraw/confirm",
            "/s/sklep/complaint",
            "/s/sklep/restock/subscribe?variant_id=501",
        ):
            answer = browser.post(path, data={"qty_315": "1", "email": EMAIL, "description": "broken"})
            assert answer.status_code == 403, path
    assert service.case_row_count() == 0


def test_an_order_pass_works_only_for_its_own_shop(service: Any) -> None:
    order = service.add_order()
    with service.client() as browser:
        order_path = service.order_page_path(browser, order["number"])
        order_pass = order_path.rsplit("/", 1)[1]
        assert browser.get(order_path).status_code == 200
        other = browser.get(f"/s/inny/orders/{order_pass}")
        assert other.status_code == 404 and "Please look your order up again" in other.text
        assert browser.get(f"/s/inny/orders/{order_pass}/withdraw").status_code == 404
        forged = browser.get(order_path[:-4] + ("abcd" if not order_path.endswith("abcd") else "efgh"))
        assert forged.status_code == 404


def test_an_order_of_one_shop_is_not_found_through_another(service: Any) -> None:
    order = service.add_order(shop_id="inny")
    with service.client() as browser:
        assert service.lookup(browser, order["number"]).status_code == 404
        assert service.lookup(browser, order["number"], shop_id="inny").status_code == 303


def test_unknown_shops_and_forged_status_links_are_not_found(service: Any) -> None:
    order = service.add_order()
    with service.client() as browser:
        assert browser.get("/s/no-such-shop/").status_code == 404
        order_path = service.order_page_path(browser, order["number"])
        step1 = browser.get(f"{order_path}/return")
        done = browser.post(
            f"{order_path}/return",
            data={
                "csrf_token": service.csrf(step1.text),
                "qty_315": "1",
                "reason": "wrong_size",
                "request_id": "r1",
            },
        )
        status_path = done.headers["location"].split("?")[0]
        assert browser.get(status_path).status_code == 200
        token = status_path.rsplit("/", 1)[1]
        payload, signature = token.rsplit(".", 1)
        tampered = "A" + signature[1:] if signature[0] != "A" else "B" + signature[1:]
        for bad in (f"{payload}.{tampered}", "eyJzIjoic2tsZXAiLCJjIjoiMSJ9.bogus", "nonsense"):
            answer = browser.get(f"/status/{bad}")
            assert answer.status_code == 404, bad
            assert "This link is not valid" in answer.text
        # a POST with a forged link changes nothing either
        assert browser.post(f"/status/{payload}.{tampered}", data={}).status_code == 404


def test_a_status_link_signed_for_a_case_of_another_shop_is_not_found(service: Any) -> None:
    from aftersales.web.links import status_token

    class Ref:
        id = "0" * 32
        shop_id = "inny"

    with httpx.Client(base_url=service.url) as client:
        assert client.get(f"/status/{status_token(Ref())}").status_code == 404
