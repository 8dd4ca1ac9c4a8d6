"""Refunds move money exactly once, over real HTTP to the fake shop.

The scenarios are the ones the effects ledger meets: the response to refundCreate is lost, the
worker crashes and asks again with the same effect key, the shop is down, the shop says no.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest

from aftersales.domain import Money
from aftersales.platforms import OutcomeUnknown, RefundLine, RefundRequest, RejectedByPlatform
from aftersales_shopify import ShopifyPlatform, ShopifyShopClient
from aftersales_shopify.documents import load
from aftersales_shopify.testing import FakeShopify

ORDER_ID = "820982911946154508"
SUNGLASSES = "487817672276298554"
LENS_PLAN = "789012345678901234"
LOCATION = "24826418"


def usd(amount: str) -> Money:
    return Money(amount, "USD")


def withdrawal(effect_key: str = "case-PL-0042:refund:1", **changes: Any) -> RefundRequest:
    """The customer withdrew from the sunglasses (delivered) and sent them back."""
    values: dict[str, Any] = {
        "effect_key": effect_key,
        "order_id": ORDER_ID,
        "amount": usd("89.99"),
        "lines": (
            RefundLine(
                line_item_id=SUNGLASSES, quantity=1, amount=usd("89.99"), tax=usd("0.00"), restock=True
            ),
        ),
        "reason": "Odstąpienie od umowy",
    }
    values.update(changes)
    return RefundRequest(**values)


@pytest.fixture
def shop(fake: FakeShopify, paid_order: Callable[..., dict[str, Any]]) -> FakeShopify:
    fake.add_order(paid_order())
    return fake


def test_a_refund_is_made_against_the_capture_and_restocks_where_it_shipped_from(
    shop: FakeShopify, client: ShopifyShopClient
) -> None:
    record = client.create_refund(withdrawal())
    (refund,) = shop.refunds(ORDER_ID)
    assert refund["id"] == record.id
    assert refund["amount"] == Decimal("89.99")
    assert refund["lines"] == [
        {"line_item_id": SUNGLASSES, "quantity": 1, "restock_type": "RETURN", "location_id": LOCATION}
    ]
    (tx,) = refund["transactions"]
    assert (tx["kind"], tx["gateway"], tx["amount"]) == ("REFUND", "bogus", Decimal("89.99"))
    assert tx["parent_id"] is not None
    assert refund["note"] == "Odstąpienie od umowy [aftersales:case-PL-0042:refund:1]"
    assert refund["idempotency_key"] == "case-PL-0042:refund:1"
    assert record.order_id == ORDER_ID
    assert record.amount == usd("89.99")
    assert record.effect_key == "case-PL-0042:refund:1"
    assert record.line_quantities == {SUNGLASSES: 1}


def test_an_unshipped_line_is_restocked_as_cancelled(shop: FakeShopify, client: ShopifyShopClient) -> None:
    request = withdrawal(
        amount=usd("19.99"),
        lines=(
            RefundLine(
                line_item_id=LENS_PLAN, quantity=1, amount=usd("19.99"), tax=usd("0.00"), restock=True
            ),
        ),
    )
    client.create_refund(request)
    assert shop.refunds(ORDER_ID)[0]["lines"][0]["restock_type"] == "CANCEL"


def test_shipping_and_no_restock(shop: FakeShopify, client: ShopifyShopClient) -> None:
    request = withdrawal(
        amount=usd("99.99"),
        shipping=usd("10.00"),
        lines=(
            RefundLine(
                line_item_id=SUNGLASSES, quantity=1, amount=usd("89.99"), tax=usd("0.00"), restock=False
            ),
        ),
    )
    client.create_refund(request)
    sent = next(v for name, v in shop.requests if name == "RefundCreate")["input"]
    assert sent["shipping"] == {"amount": "10.00"}
    assert sent["refundLineItems"][0]["restockType"] == "NO_RESTOCK"
    assert "locationId" not in sent["refundLineItems"][0]
    assert shop.refunds(ORDER_ID)[0]["amount"] == Decimal("99.99")


def test_when_the_first_response_is_lost_the_retry_returns_the_same_refund(
    shop: FakeShopify, client: ShopifyShopClient
) -> None:
    shop.lose_next_response(operation="refundCreate")
    record = client.create_refund(withdrawal())
    sends = [v for name, v in shop.requests if name == "RefundCreate"]
    assert len(sends) == 2  # the lost one and its retry ...
    assert sends[0]["key"] == sends[1]["key"] == "case-PL-0042:refund:1"  # ... with the same key
    assert len(shop.refunds(ORDER_ID)) == 1  # ... and the shop paid once
    assert record.id == shop.refunds(ORDER_ID)[0]["id"]


def test_when_every_response_is_lost_the_refund_is_found_by_its_marker(
    shop: FakeShopify, client: ShopifyShopClient
) -> None:
    shop.lose_next_response(operation="refundCreate", times=10)
    record = client.create_refund(withdrawal())
    assert len(shop.refunds(ORDER_ID)) == 1
    assert record.effect_key == "case-PL-0042:refund:1"
    assert "OrderRefundNotes" in [name for name, _ in shop.requests]  # found by reading the notes


def test_a_worker_that_crashed_after_sending_asks_again_and_gets_the_first_refund(
    shop: FakeShopify, client: ShopifyShopClient
) -> None:
    """The engine re-runs the effect with the same key after a restart: no second payment."""
    first = client.create_refund(withdrawal())
    again = client.create_refund(withdrawal())
    assert again.id == first.id
    assert len(shop.refunds(ORDER_ID)) == 1


def test_find_refund_tells_the_ledger_what_happened(shop: FakeShopify, client: ShopifyShopClient) -> None:
    assert client.find_refund(ORDER_ID, "case-PL-0042:refund:1") is None
    made = client.create_refund(withdrawal())
    found = client.find_refund(ORDER_ID, "case-PL-0042:refund:1")
    assert found is not None and found.id == made.id
    assert client.find_refund(ORDER_ID, "case-PL-0042:refund:2") is None


def test_long_effect_keys_are_hashed_for_the_directive_but_still_found(
    shop: FakeShopify, client: ShopifyShopClient
) -> None:
    key = "shop-7:case-PL-2026-000042:withdrawal:refund:" + "x" * 80
    made = client.create_refund(withdrawal(effect_key=key))
    sent_key = next(v for name, v in shop.requests if name == "RefundCreate")["key"]
    assert len(sent_key) == 64 and sent_key != key
    found = client.find_refund(ORDER_ID, key)
    assert found is not None and found.id == made.id


def test_when_the_shop_is_down_the_outcome_is_unknown_and_nothing_was_paid(
    fake: FakeShopify, paid_order: Callable[..., dict[str, Any]]
) -> None:
    fake.add_order(paid_order())
    client = ShopifyPlatform().client(fake.credentials(max_attempts=3))
    fake.fail_next(status=503, times=3, operation="refundCreate")
    with pytest.raises(OutcomeUnknown):
        client.create_refund(withdrawal())
    assert fake.refunds(ORDER_ID) == []
    assert client.create_refund(withdrawal()).amount == usd("89.99")  # the ledger's later retry works
    assert len(fake.refunds(ORDER_ID)) == 1
    client.close()


def test_a_5xx_before_refund_create_is_retried_with_the_same_key(
    shop: FakeShopify, client: ShopifyShopClient
) -> None:
    shop.fail_next(status=502, operation="refundCreate")
    client.create_refund(withdrawal())
    assert len(shop.refunds(ORDER_ID)) == 1


def test_refunding_more_than_was_paid_is_refused_before_calling_shopify(
    shop: FakeShopify, client: ShopifyShopClient
) -> None:
    with pytest.raises(RejectedByPlatform, match="exceeds what is left") as err:
        client.create_refund(withdrawal(amount=usd("500.00")))
    assert err.value.code == "OVER_REFUND"
    assert shop.refunds(ORDER_ID) == []


def test_a_second_refund_only_gets_what_is_left(shop: FakeShopify, client: ShopifyShopClient) -> None:
    client.create_refund(withdrawal(amount=usd("400.00"), lines=()))
    with pytest.raises(RejectedByPlatform, match=r"\(4.95 USD\)"):
        client.create_refund(withdrawal(effect_key="case-PL-0042:refund:2", amount=usd("5.00"), lines=()))
    client.create_refund(withdrawal(effect_key="case-PL-0042:refund:3", amount=usd("4.95"), lines=()))
    assert sum(r["amount"] for r in shop.refunds(ORDER_ID)) == Decimal("404.95")


def test_user_errors_become_rejections_with_the_field(shop: FakeShopify, client: ShopifyShopClient) -> None:
    """Refunding two pairs of sunglasses when one was bought: Shopify's userErrors, not an exception soup."""
    request = withdrawal(
        lines=(RefundLine(line_item_id=SUNGLASSES, quantity=2, amount=usd("89.99"), tax=usd("0.00")),)
    )
    with pytest.raises(RejectedByPlatform, match="more items than were purchased") as err:
        client.create_refund(request)
    assert err.value.code == "refundLineItems.0.quantity"
    assert shop.refunds(ORDER_ID) == []


def test_a_refund_in_another_currency_is_refused(shop: FakeShopify, client: ShopifyShopClient) -> None:
    with pytest.raises(RejectedByPlatform) as err:
        client.create_refund(withdrawal(amount=Money("89.99", "PLN"), lines=()))
    assert err.value.code == "CURRENCY"


def test_record_only_refund_moves_no_money(shop: FakeShopify, client: ShopifyShopClient) -> None:
    client.create_refund(withdrawal(move_money=False))
    (refund,) = shop.refunds(ORDER_ID)
    assert refund["transactions"] == []
    assert refund["amount"] == Decimal("0")


def test_the_fake_requires_the_idempotency_directive_from_2026_04(shop: FakeShopify) -> None:
    text = load("RefundCreate").text.replace(" @idempotent(key: $key)", "").replace(", $key: String!", "")
    body = httpx.post(
        shop.graphql_url,
        json={
            "query": text,
            "variables": {"input": {"orderId": f"gid://shopify/Order/{ORDER_ID}", "refundLineItems": []}},
        },
        headers={"X-Shopify-Access-Token": shop.token},
    ).json()
    assert "@idempotent directive is required" in body["errors"][0]["message"]
    assert shop.refunds(ORDER_ID) == []


def test_list_refunds_reads_ours_and_the_admins(
    fake: FakeShopify,
    paid_order: Callable[..., dict[str, Any]],
    payload: Callable[[str], Any],
    client: ShopifyShopClient,
) -> None:
    order = paid_order()
    order["refunds"] = [payload("refunds_create")]  # made in the shop admin earlier
    fake.add_order(order)
    client.create_refund(withdrawal(amount=usd("50.00"), lines=()))
    refunds = client.list_refunds(ORDER_ID)
    assert next(r.id for r in refunds) == "890088186047892319"
    assert [r.amount for r in refunds] == [usd("85.00"), usd("50.00")]
    assert [r.effect_key for r in refunds] == [None, "case-PL-0042:refund:1"]
    assert refunds[0].line_quantities[SUNGLASSES] == 1
