"""The ShopClient over real HTTP against FakeWooCommerce: reads, refunds exactly once, errors, retries."""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from aftersales.domain import Money
from aftersales.platforms import (
    AuthenticationFailed,
    NotFound,
    OutcomeUnknown,
    RefundLine,
    RefundRequest,
    RejectedByPlatform,
    ShopClient,
    StoreCredentials,
    TransientPlatformError,
)
from aftersales_woocommerce import RetryPolicy, WooCommerceClient
from aftersales_woocommerce.client import wc_datetime
from aftersales_woocommerce.plugin import WooCommercePlatform
from aftersales_woocommerce.testing import FakeWooCommerce, sample_product, sample_variation

FAST = RetryPolicy(attempts=4, base_delay=0.001, max_delay=0.01)
REFUNDS = "/wp-json/wc/v3/orders/727/refunds"


def usd(amount: str) -> Money:
    return Money(amount, "USD")


def line_315(quantity: int = 1, restock: bool = False) -> RefundLine:
    """Order 727's line 315: 2 x 3.00 + 0.45 tax (rate 75)."""
    tax = {1: "0.22", 2: "0.45"}[quantity]
    gross = {1: "3.22", 2: "6.45"}[quantity]
    return RefundLine(line_item_id="315", quantity=quantity, amount=usd(gross), tax=usd(tax), restock=restock)


def refund_request(key: str = "effect-1", amount: str = "3.22", **kw: Any) -> RefundRequest:
    kw.setdefault("lines", (line_315(1),))
    return RefundRequest(effect_key=key, order_id="727", amount=usd(amount), reason="withdrawal", **kw)


def posts(fake: FakeWooCommerce, path: str) -> int:
    return sum(1 for method, p in fake.requests if method == "POST" and p == path)


def gets(fake: FakeWooCommerce, path: str) -> int:
    return sum(1 for method, p in fake.requests if method == "GET" and p == path)


@pytest.fixture
def shop(fake: FakeWooCommerce, order_json: dict[str, Any]) -> FakeWooCommerce:
    fake.add_order(order_json)
    return fake


def test_the_adapter_builds_a_shop_client(fake: FakeWooCommerce) -> None:
    client = WooCommercePlatform().client(fake.credentials())
    assert isinstance(client, ShopClient)


# -- reads --------------------------------------------------------------------------------------


def test_fetch_order_reads_the_order_over_http(shop: FakeWooCommerce, client: WooCommerceClient) -> None:
    order = client.fetch_order("727")
    assert order.id == "727"
    assert order.total == usd("29.35")
    assert [line.id for line in order.line_items] == ["315", "316"]
    assert shop.requests == [("GET", "/wp-json/wc/v3/orders/727")]


def test_a_missing_order_is_not_found_with_woocommerces_code(
    shop: FakeWooCommerce, client: WooCommerceClient
) -> None:
    with pytest.raises(NotFound) as caught:
        client.fetch_order("9999")
    assert caught.value.code == "woocommerce_rest_shop_order_invalid_id"
    assert caught.value.status == 404
    assert gets(shop, "/wp-json/wc/v3/orders/9999") == 1  # a 404 is an answer, not retried


def test_wrong_keys_are_an_authentication_failure(shop: FakeWooCommerce) -> None:
    client = WooCommerceClient(shop.credentials(secret="cs_wrong"), retry=FAST)
    with pytest.raises(AuthenticationFailed) as caught:
        client.fetch_order("727")
    assert caught.value.code == "woocommerce_rest_authentication_error"
    assert caught.value.status == 401
    client = WooCommerceClient(shop.credentials(key="ck_wrong"), retry=FAST)
    with pytest.raises(AuthenticationFailed, match="Consumer key is invalid"):
        client.fetch_order("727")


def test_missing_credentials_are_refused_before_any_request() -> None:
    with pytest.raises(AuthenticationFailed, match="consumer key"):
        WooCommerceClient(StoreCredentials(url="http://127.0.0.1:1"))


def test_a_non_numeric_order_id_is_refused_without_a_request(
    shop: FakeWooCommerce, client: WooCommerceClient
) -> None:
    with pytest.raises(RejectedByPlatform, match="not a WooCommerce id"):
        client.fetch_order("gid://shopify/Order/1")
    assert shop.requests == []


def test_listing_changed_orders_pages_through_x_wp_totalpages(
    fake: FakeWooCommerce, client: WooCommerceClient, order_json: dict[str, Any]
) -> None:
    old = dict(order_json, id=5, date_modified_gmt="2020-01-01T00:00:00")
    fake.add_order(old, webhook=False)
    for number in range(250):
        fake.add_order(
            dict(order_json, id=2000 + number, date_modified_gmt="2024-05-01T12:00:00"), webhook=False
        )
    orders = list(client.list_orders_changed_since(datetime(2024, 1, 1, tzinfo=UTC)))
    assert [o.id for o in orders] == [str(2000 + n) for n in range(250)]
    assert gets(fake, "/wp-json/wc/v3/orders") == 3  # 100 + 100 + 50


def test_the_changed_since_cursor_is_sent_in_gmt() -> None:
    warsaw = datetime(2024, 5, 1, 16, 0, 30, 999, tzinfo=ZoneInfo("Europe/Warsaw"))
    assert wc_datetime(warsaw) == "2024-05-01T14:00:30"
    with pytest.raises(ValueError, match="aware"):
        wc_datetime(datetime(2024, 5, 1, 16, 0))


def test_a_cursor_in_local_time_selects_the_same_orders(
    fake: FakeWooCommerce, client: WooCommerceClient, order_json: dict[str, Any]
) -> None:
    fake.add_order(dict(order_json, id=1, date_modified_gmt="2024-05-01T13:59:59"), webhook=False)
    fake.add_order(dict(order_json, id=2, date_modified_gmt="2024-05-01T14:00:01"), webhook=False)
    since = datetime(2024, 5, 1, 16, 0, tzinfo=ZoneInfo("Europe/Warsaw"))  # 14:00 GMT
    assert [o.id for o in client.list_orders_changed_since(since)] == ["2"]


# -- retries ------------------------------------------------------------------------------------


def test_reads_are_retried_on_500_with_backoff(shop: FakeWooCommerce) -> None:
    sleeps: list[float] = []
    client = WooCommerceClient(
        shop.credentials(), retry=RetryPolicy(attempts=4, base_delay=0.2, max_delay=5), sleep=sleeps.append
    )
    shop.fail_next(500, times=2, path_prefix="/wp-json/wc/v3/orders/727")
    assert client.fetch_order("727").id == "727"
    assert gets(shop, "/wp-json/wc/v3/orders/727") == 3
    assert len(sleeps) == 2
    assert 0 <= sleeps[0] <= 0.2 and 0 <= sleeps[1] <= 0.4  # full jitter under an exponential ceiling


def test_429_is_retried_after_retry_after(shop: FakeWooCommerce) -> None:
    sleeps: list[float] = []
    client = WooCommerceClient(
        shop.credentials(), retry=RetryPolicy(attempts=3, base_delay=0.01, max_delay=5), sleep=sleeps.append
    )
    shop.fail_next(429, retry_after=2)
    assert client.fetch_order("727").id == "727"
    assert sleeps == [2.0]
    assert gets(shop, "/wp-json/wc/v3/orders/727") == 2


def test_retry_after_is_capped_by_the_policy(shop: FakeWooCommerce) -> None:
    sleeps: list[float] = []
    client = WooCommerceClient(
        shop.credentials(), retry=RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.5), sleep=sleeps.append
    )
    shop.fail_next(429, retry_after=3600)
    client.fetch_order("727")
    assert sleeps == [0.5]


def test_persistent_5xx_gives_up_as_transient_after_the_attempts(
    shop: FakeWooCommerce, client: WooCommerceClient
) -> None:
    shop.fail_next(503, times=10)
    with pytest.raises(TransientPlatformError) as caught:
        client.fetch_order("727")
    assert caught.value.status == 503
    assert "HTTP 503" in str(caught.value)
    assert gets(shop, "/wp-json/wc/v3/orders/727") == FAST.attempts


def test_a_read_timeout_is_retried(shop: FakeWooCommerce) -> None:
    client = WooCommerceClient(shop.credentials(timeout_seconds=0.3), retry=FAST)
    shop.delay_next(1.0, path_prefix="/wp-json/wc/v3/orders/727")
    assert client.fetch_order("727").id == "727"
    assert gets(shop, "/wp-json/wc/v3/orders/727") == 2


def test_a_shop_that_does_not_answer_is_transient() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # nothing listens on the port now: every connection is refused
    creds = StoreCredentials(
        url=f"http://127.0.0.1:{port}", key="ck_live_key", secret="cs", timeout_seconds=1
    )
    client = WooCommerceClient(creds, retry=FAST)
    with pytest.raises(TransientPlatformError, match="connection failed") as caught:
        client.fetch_order("727")
    # requests repeats the signed URL in its message; the key and signature must not reach logs
    assert "oauth_signature=[redacted]" in str(caught.value)
    assert "ck_live_key" not in str(caught.value)
    # a refund POST that never reached the shop is safe to retry and is not an unknown outcome
    with pytest.raises(TransientPlatformError):
        client.rest.request("POST", "orders/727/refunds", data={"amount": "1.00"})


# -- refunds ------------------------------------------------------------------------------------


def test_a_refund_is_posted_in_the_wc_v3_shape(shop: FakeWooCommerce, client: WooCommerceClient) -> None:
    record = client.create_refund(refund_request())
    assert record.order_id == "727"
    assert record.amount == usd("3.22")
    assert record.effect_key == "effect-1"
    assert record.line_quantities == {"315": 1}
    ((method, _path, body),) = [b for b in shop.bodies if b[1] == REFUNDS]
    assert method == "POST"
    assert body == {
        "amount": "3.22",
        "reason": "withdrawal",
        "api_refund": True,
        "api_restock": False,
        "line_items": [
            {
                "id": 315,
                "quantity": 1,
                "refund_total": "3.00",
                "refund_tax": [{"id": 75, "refund_total": "0.22"}],
            }
        ],
        "meta_data": [{"key": "_aftersales_effect_key", "value": "effect-1"}],
    }
    order = shop.order(727)
    assert order["refunds"] == [{"id": int(record.id), "reason": "withdrawal", "total": "-3.22"}]
    assert client.fetch_order("727").refunded == usd("3.22")


def test_shipping_is_refunded_on_the_shipping_line(shop: FakeWooCommerce, client: WooCommerceClient) -> None:
    request = refund_request(amount="13.22", shipping=usd("10.00"))
    client.create_refund(request)
    (refund,) = shop.refunds(727)
    (ship,) = refund["shipping_lines"]
    assert ship["total"] == "-10.00"
    body = next(b for m, p, b in shop.bodies if p == REFUNDS)
    assert body["line_items"][1] == {"id": 317, "refund_total": "10.00", "refund_tax": []}


def test_restocking_is_asked_for_when_every_line_restocks(
    fake: FakeWooCommerce, order_json: dict[str, Any]
) -> None:
    fake.add_product(sample_product(id=93, manage_stock=True, stock_quantity=0, stock_status="outofstock"))
    fake.add_order(order_json)
    client = WooCommerceClient(fake.credentials(), retry=FAST)
    client.create_refund(refund_request(amount="6.45", lines=(line_315(2, restock=True),)))
    assert fake.product(93)["stock_quantity"] == 2
    assert client.read_stock("93", None).available == 2


def test_money_is_moved_by_the_gateway_only_when_asked(
    shop: FakeWooCommerce, client: WooCommerceClient
) -> None:
    client.create_refund(refund_request(move_money=False))
    (refund,) = shop.refunds(727)
    assert refund["refunded_payment"] is False


def test_a_gateway_without_refunds_is_a_rejection_with_woocommerces_code(order_json: dict[str, Any]) -> None:
    with FakeWooCommerce(manual_gateways=["bacs"]) as fake:
        fake.add_order(order_json)
        client = WooCommerceClient(fake.credentials(), retry=FAST)
        with pytest.raises(RejectedByPlatform) as caught:
            client.create_refund(refund_request())
        assert caught.value.code == "woocommerce_rest_cannot_create_order_refund"
        assert posts(fake, REFUNDS) == 1  # refused, not retried
        assert fake.refunds(727) == []


def test_a_refund_above_the_remaining_amount_is_refused(
    shop: FakeWooCommerce, client: WooCommerceClient
) -> None:
    client.create_refund(RefundRequest(effect_key="all", order_id="727", amount=usd("29.35")))
    assert shop.order(727)["status"] == "refunded"
    with pytest.raises(RejectedByPlatform) as caught:
        client.create_refund(RefundRequest(effect_key="more", order_id="727", amount=usd("0.01")))
    assert caught.value.code == "woocommerce_rest_cannot_create_order_refund"
    assert caught.value.status == 500
    assert "Invalid refund amount" in str(caught.value)
    assert len(shop.refunds(727)) == 1


def test_bad_requests_are_refused_before_posting(shop: FakeWooCommerce, client: WooCommerceClient) -> None:
    with pytest.raises(RejectedByPlatform, match="not part of order"):
        client.create_refund(
            refund_request(
                lines=(RefundLine(line_item_id="999", quantity=1, amount=usd("1.00"), tax=usd("0")),)
            )
        )
    with pytest.raises(RejectedByPlatform, match="PLN"):
        client.create_refund(RefundRequest(effect_key="x", order_id="727", amount=Money("1.00", "PLN")))
    assert posts(shop, REFUNDS) == 0


def test_a_refund_whose_response_is_lost_is_not_retried_and_is_found_afterwards(
    shop: FakeWooCommerce, client: WooCommerceClient
) -> None:
    shop.lose_next_response(path_prefix=REFUNDS, method="POST")
    with pytest.raises(OutcomeUnknown):
        client.create_refund(refund_request(key="ledger-42"))
    assert posts(shop, REFUNDS) == 1  # never re-sent blindly
    assert len(shop.refunds(727)) == 1  # ... though the shop did make it

    found = client.find_refund("727", "ledger-42")
    assert found is not None
    assert found.effect_key == "ledger-42"
    assert found.amount == usd("3.22")
    assert client.find_refund("727", "ledger-other") is None

    # the engine retrying the effect gets the existing refund, not a second one
    again = client.create_refund(refund_request(key="ledger-42"))
    assert again.id == found.id
    assert posts(shop, REFUNDS) == 1
    assert len(shop.refunds(727)) == 1


def test_a_refund_that_times_out_is_an_unknown_outcome(shop: FakeWooCommerce) -> None:
    client = WooCommerceClient(shop.credentials(timeout_seconds=0.3), retry=FAST)
    shop.delay_next(1.0, path_prefix=REFUNDS, method="POST")
    with pytest.raises(OutcomeUnknown, match="timed out") as caught:
        client.create_refund(refund_request(key="slow"))
    # requests repeats the signed URL in its message; the keys and signature must not reach logs
    assert "ck_test" not in str(caught.value)
    assert posts(shop, REFUNDS) == 1
    assert client.find_refund("727", "slow") is not None
    assert len(shop.refunds(727)) == 1


def test_a_5xx_on_the_refund_post_is_unknown_and_retrying_after_lookup_refunds_once(
    shop: FakeWooCommerce, client: WooCommerceClient
) -> None:
    shop.fail_next(502, path_prefix=REFUNDS, method="POST")
    with pytest.raises(OutcomeUnknown):
        client.create_refund(refund_request(key="k-502"))
    assert posts(shop, REFUNDS) == 1
    assert client.find_refund("727", "k-502") is None  # the proxy failed before WooCommerce ran
    record = client.create_refund(refund_request(key="k-502"))
    assert record.effect_key == "k-502"
    assert posts(shop, REFUNDS) == 2
    assert len(shop.refunds(727)) == 1


def test_a_rate_limited_refund_post_is_retried(shop: FakeWooCommerce, client: WooCommerceClient) -> None:
    shop.fail_next(429, path_prefix=REFUNDS, method="POST", retry_after=0)
    client.create_refund(refund_request(key="k-429"))
    assert posts(shop, REFUNDS) == 2
    assert len(shop.refunds(727)) == 1


def test_refunds_made_in_the_shop_admin_are_listed_without_a_key(
    shop: FakeWooCommerce, client: WooCommerceClient
) -> None:
    client.rest.request("POST", "orders/727/refunds", data={"amount": "5.00", "reason": "goodwill"})
    client.create_refund(refund_request(key="ours"))
    records = client.list_refunds("727")
    assert sorted((r.amount.amount, r.effect_key) for r in records) == [
        (usd("3.22").amount, "ours"),
        (usd("5.00").amount, None),
    ]


# -- notes --------------------------------------------------------------------------------------


def test_notes_are_added_customer_visible_or_private(
    shop: FakeWooCommerce, client: WooCommerceClient
) -> None:
    client.add_note("727", "Return R-1 received.", customer_visible=True)
    client.add_note("727", "Checked by warehouse.", customer_visible=False)
    assert [(n["note"], n["customer_note"]) for n in shop.notes(727)] == [
        ("Return R-1 received.", True),
        ("Checked by warehouse.", False),
    ]


def test_a_note_whose_response_is_lost_is_looked_up_not_duplicated(
    shop: FakeWooCommerce, client: WooCommerceClient
) -> None:
    shop.lose_next_response(path_prefix="/wp-json/wc/v3/orders/727/notes", method="POST")
    client.add_note("727", "Refund of 3.22 USD sent.", customer_visible=True)
    assert [n["note"] for n in shop.notes(727)] == ["Refund of 3.22 USD sent."]
    assert posts(shop, "/wp-json/wc/v3/orders/727/notes") == 1


def test_a_note_that_failed_before_processing_is_sent_again(
    shop: FakeWooCommerce, client: WooCommerceClient
) -> None:
    shop.fail_next(500, path_prefix="/wp-json/wc/v3/orders/727/notes", method="POST")
    client.add_note("727", "Complaint C-7 accepted.", customer_visible=False)
    assert [n["note"] for n in shop.notes(727)] == ["Complaint C-7 accepted."]
    assert posts(shop, "/wp-json/wc/v3/orders/727/notes") == 2


# -- stock --------------------------------------------------------------------------------------


def test_stock_of_a_simple_product_and_of_a_variation(
    fake: FakeWooCommerce, client: WooCommerceClient
) -> None:
    fake.add_product(sample_product(id=794, manage_stock=True, stock_quantity=4))
    fake.add_product(sample_product(id=22, type="variable", sku="ship-your-idea"))
    fake.add_variation(22, sample_variation(variation_id=23, stock_quantity=0, stock_status="outofstock"))
    simple = client.read_stock("794", None)
    assert (simple.product_id, simple.variant_id, simple.available, simple.in_stock) == ("794", None, 4, True)
    variation = client.read_stock("22", "23")
    assert (variation.product_id, variation.variant_id, variation.available, variation.in_stock) == (
        "22",
        "23",
        0,
        False,
    )
    with pytest.raises(NotFound):
        client.read_stock("22", "99")


def test_stock_changed_since_covers_simple_products_and_variations() -> None:
    now = [datetime(2024, 5, 1, 10, 0, tzinfo=UTC)]
    clocked = FakeWooCommerce(clock=lambda: now[0])
    with clocked:
        c = WooCommerceClient(clocked.credentials(), retry=FAST)
        clocked.add_product(
            sample_product(id=794, manage_stock=True, stock_quantity=0, stock_status="outofstock")
        )
        clocked.add_product(sample_product(id=22, type="variable"))
        clocked.add_variation(22, sample_variation(variation_id=23))
        clocked.add_variation(22, sample_variation(variation_id=24, sku="Bar4"))
        clocked.add_product(sample_product(id=50))  # never changes again
        cursor = datetime(2024, 5, 1, 10, 30, tzinfo=UTC)
        now[0] = datetime(2024, 5, 1, 11, 0, tzinfo=UTC)
        clocked.set_stock(22, 23, 5)  # a variation is restocked: the parent is re-saved too
        clocked.set_stock(794, None, 2)
        levels = sorted(c.list_stock_changed_since(cursor), key=lambda lv: lv.variant_key)
    assert [(lv.product_id, lv.variant_id, lv.available, lv.in_stock) for lv in levels] == [
        ("22", "23", 5, True),
        ("794", None, 2, True),
    ]


def test_platform_actions_do_not_exist_on_woocommerce(client: WooCommerceClient) -> None:
    with pytest.raises(RejectedByPlatform, match="no returns API"):
        client.platform_action("return.approve", {"return_id": "1"}, "key")


# -- WordPress noise ----------------------------------------------------------------------------


def test_php_notices_before_the_json_are_tolerated(shop: FakeWooCommerce, client: WooCommerceClient) -> None:
    shop.garble_next(path_prefix="/wp-json/wc/v3/orders/727")
    assert client.fetch_order("727").id == "727"


def test_a_refund_made_with_an_unreadable_answer_is_read_back_by_its_marker(
    shop: FakeWooCommerce, client: WooCommerceClient
) -> None:
    shop.garble_next(prefix="", path_prefix=REFUNDS, method="POST")  # 201 with an empty body
    record = client.create_refund(refund_request(key="garbled"))
    assert record.effect_key == "garbled"
    assert record.amount == usd("3.22")
    assert posts(shop, REFUNDS) == 1
    assert len(shop.refunds(727)) == 1
