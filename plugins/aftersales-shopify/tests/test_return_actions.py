"""Our decisions on a customer's return reach Shopify: approve, decline (with the reason enum),
process the units that came back, close. Each is safe to repeat after a lost response."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from aftersales.platforms import OutcomeUnknown, RejectedByPlatform
from aftersales_shopify import ShopifyShopClient
from aftersales_shopify.testing import FakeShopify

ORDER_ID = "820982911946154508"
SUNGLASSES = "487817672276298554"
LOUNGER = "976318377106520349"


@pytest.fixture
def return_id(fake: FakeShopify, paid_order: Callable[..., dict[str, Any]]) -> str:
    fake.add_order(paid_order())
    return fake.add_return(ORDER_ID, [(SUNGLASSES, 1), (LOUNGER, 1)])


def test_approving_a_requested_return(fake: FakeShopify, client: ShopifyShopClient, return_id: str) -> None:
    result = client.platform_action("return.approve", {"return_id": return_id}, "case-1:approve")
    assert result == {
        "action": "return.approve",
        "return_id": return_id,
        "status": "OPEN",
        "already_done": False,
    }
    assert fake.returns(ORDER_ID)[0]["status"] == "OPEN"
    sent = [v for name, v in fake.requests if name == "ReturnApproveRequest"]
    assert sent == [{"input": {"id": f"gid://shopify/Return/{return_id}", "notifyCustomer": True}}]


def test_approving_again_after_a_lost_response_is_a_success(
    fake: FakeShopify, client: ShopifyShopClient, return_id: str
) -> None:
    fake.lose_next_response(operation="returnApproveRequest")
    with pytest.raises(OutcomeUnknown):
        client.platform_action("return.approve", {"return_id": return_id}, "case-1:approve")
    result = client.platform_action("return.approve", {"return_id": return_id}, "case-1:approve")
    assert result["already_done"] is True
    assert result["status"] == "OPEN"
    assert [name for name, _ in fake.requests].count("ReturnApproveRequest") == 1


@pytest.mark.parametrize(
    ("given", "sent"),
    [("return_period_ended", "RETURN_PERIOD_ENDED"), ("FINAL_SALE", "FINAL_SALE"), (None, "OTHER")],
)
def test_declining_with_shopifys_reasons(
    fake: FakeShopify, client: ShopifyShopClient, return_id: str, given: str | None, sent: str
) -> None:
    params: dict[str, Any] = {"return_id": return_id, "note": "Towar używany, zwrot po terminie 14 dni"}
    if given is not None:
        params["reason"] = given
    result = client.platform_action("return.decline", params, "case-1:decline")
    assert result["status"] == "DECLINED"
    (shop_return,) = fake.returns(ORDER_ID)
    assert shop_return["decline"] == {"reason": sent, "note": "Towar używany, zwrot po terminie 14 dni"}


def test_a_reason_shopify_does_not_know_is_refused_before_calling(
    fake: FakeShopify, client: ShopifyShopClient, return_id: str
) -> None:
    with pytest.raises(RejectedByPlatform, match="RETURN_PERIOD_ENDED, FINAL_SALE, OTHER") as err:
        client.platform_action("return.decline", {"return_id": return_id, "reason": "customer_was_rude"}, "k")
    assert err.value.code == "INCLUSION"
    assert "ReturnDeclineRequest" not in [name for name, _ in fake.requests]


def test_closing_needs_an_open_return(fake: FakeShopify, client: ShopifyShopClient, return_id: str) -> None:
    with pytest.raises(RejectedByPlatform, match="is REQUESTED, expected OPEN") as err:
        client.platform_action("return.close", {"return_id": return_id}, "k")
    assert err.value.code == "INVALID_STATE"
    client.platform_action("return.approve", {"return_id": return_id}, "k1")
    assert client.platform_action("return.close", {"return_id": return_id}, "k2")["status"] == "CLOSED"
    assert client.platform_action("return.close", {"return_id": return_id}, "k2")["already_done"] is True


def test_processing_the_units_that_came_back(
    fake: FakeShopify, client: ShopifyShopClient, return_id: str
) -> None:
    client.platform_action("return.approve", {"return_id": return_id}, "k1")
    lines = fake.returns(ORDER_ID)[0]["lines"]
    result = client.platform_action(
        "return.process", {"return_id": return_id, "lines": [{"id": lines[0]["id"], "quantity": 1}]}, "k2"
    )
    assert result["already_done"] is False
    assert [line["processed"] for line in fake.returns(ORDER_ID)[0]["lines"]] == [1, 0]
    # a repeat of the same action cannot process more than came back
    again = client.platform_action(
        "return.process", {"return_id": return_id, "lines": [{"id": lines[0]["id"], "quantity": 1}]}, "k2"
    )
    assert again["already_done"] is True
    # no lines: everything still unprocessed
    client.platform_action("return.process", {"return_id": return_id}, "k3")
    assert [line["processed"] for line in fake.returns(ORDER_ID)[0]["lines"]] == [1, 1]


def test_processing_a_line_of_another_return_is_refused(
    fake: FakeShopify, client: ShopifyShopClient, return_id: str
) -> None:
    client.platform_action("return.approve", {"return_id": return_id}, "k1")
    with pytest.raises(RejectedByPlatform, match="not part of return") as err:
        client.platform_action(
            "return.process", {"return_id": return_id, "lines": [{"id": "1", "quantity": 1}]}, "k2"
        )
    assert err.value.code == "NOT_FOUND"


def test_shopifys_user_errors_carry_their_code(
    fake: FakeShopify, client: ShopifyShopClient, return_id: str
) -> None:
    """The return changes state between our read and our write: Shopify's code comes through."""
    fake.state.returns[f"gid://shopify/Return/{return_id}"]["status"] = "REQUESTED"
    original = fake.state._return_move

    def moved_meanwhile(rid: str, source: str, target: str) -> dict[str, Any]:
        fake.state.returns[rid]["status"] = "CANCELED"  # the customer cancelled a moment ago
        return original(rid, source, target)

    fake.state._return_move = moved_meanwhile  # type: ignore[method-assign]
    with pytest.raises(RejectedByPlatform, match="canceled") as err:
        client.platform_action("return.approve", {"return_id": return_id}, "k")
    assert err.value.code == "INVALID_STATE"


def test_unknown_actions_and_missing_returns(
    fake: FakeShopify, client: ShopifyShopClient, return_id: str
) -> None:
    with pytest.raises(RejectedByPlatform) as err:
        client.platform_action("return.teleport", {"return_id": return_id}, "k")
    assert err.value.code == "UNKNOWN_ACTION"
    with pytest.raises(RejectedByPlatform):
        client.platform_action("return.approve", {}, "k")
    from aftersales.platforms import NotFound

    with pytest.raises(NotFound):
        client.platform_action("return.approve", {"return_id": "42"}, "k")


def test_processing_with_a_disposition_sends_it_for_the_reverse_line(
    fake: FakeShopify, client: ShopifyShopClient, return_id: str
) -> None:
    client.platform_action("return.approve", {"return_id": return_id}, "k1")
    line = fake.returns(ORDER_ID)[0]["lines"][0]
    params = {
        "return_id": return_id,
        "lines": [
            {
                "id": line["id"],
                "quantity": 1,
                "disposition": "restocked",
                "rfo_line_item_id": "2222222",
                "location_id": "24826418",
            }
        ],
    }
    client.platform_action("return.process", params, "k2")
    (sent,) = [v for name, v in fake.requests if name == "ReturnProcess"]
    assert sent["input"]["returnLineItems"][0]["dispositions"] == [
        {
            "reverseFulfillmentOrderLineItemId": "gid://shopify/ReverseFulfillmentOrderLineItem/2222222",
            "quantity": 1,
            "dispositionType": "RESTOCKED",
            "locationId": "gid://shopify/Location/24826418",
        }
    ]


@pytest.mark.parametrize(
    ("line_extra", "code"),
    [({"disposition": "burned"}, "INCLUSION"), ({"disposition": "RESTOCKED"}, "BLANK")],
)
def test_a_disposition_shopify_cannot_take_is_refused(
    fake: FakeShopify, client: ShopifyShopClient, return_id: str, line_extra: dict[str, Any], code: str
) -> None:
    client.platform_action("return.approve", {"return_id": return_id}, "k1")
    line = fake.returns(ORDER_ID)[0]["lines"][0]
    with pytest.raises(RejectedByPlatform) as err:
        client.platform_action(
            "return.process",
            {"return_id": return_id, "lines": [{"id": line["id"], "quantity": 1, **line_extra}]},
            "k2",
        )
    assert err.value.code == code
    assert "ReturnProcess" not in [name for name, _ in fake.requests]
