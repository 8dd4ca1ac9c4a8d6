"""The create-refund body adds up, whatever the amounts and tax rates (property-based)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from aftersales.domain import Money
from aftersales.platforms import RefundLine, RefundRequest, StoreCredentials
from aftersales_woocommerce import WooCommerceClient
from aftersales_woocommerce.payloads import WcOrder

CLIENT = WooCommerceClient(StoreCredentials(url="http://127.0.0.1:9", key="ck", secret="cs"))
cents = st.integers(min_value=0, max_value=500_000)


def order_with(rates: list[int], shipping: list[tuple[int, int]]) -> WcOrder:
    taxes = [{"id": 70 + i, "total": str(Decimal(c) / 100), "subtotal": "0"} for i, c in enumerate(rates)]
    return WcOrder.model_validate(
        {
            "id": 1,
            "status": "processing",
            "currency": "PLN",
            "date_created_gmt": "2026-05-01T10:00:00",
            "total": "99999.00",
            "line_items": [{"id": 11, "quantity": 3, "taxes": taxes}],
            "shipping_lines": [
                {
                    "id": 20 + i,
                    "total": str(Decimal(net) / 100),
                    "total_tax": str(Decimal(tax) / 100),
                    "taxes": [{"id": 90, "total": str(Decimal(tax) / 100)}] if tax else [],
                }
                for i, (net, tax) in enumerate(shipping)
            ],
        }
    )


def line_sum(item: dict[str, Any]) -> Decimal:
    return Decimal(item["refund_total"]) + sum(
        (Decimal(t["refund_total"]) for t in item["refund_tax"]), Decimal(0)
    )


@settings(max_examples=200, deadline=None)
@given(
    rates=st.lists(st.integers(min_value=0, max_value=10_000), min_size=0, max_size=3),
    gross=cents,
    tax_share=st.integers(min_value=0, max_value=100),
    shipping=st.lists(st.tuples(cents, st.integers(min_value=0, max_value=5_000)), min_size=1, max_size=3),
    ship_refund=cents,
)
def test_lines_and_shipping_add_up_to_what_is_refunded(
    rates: list[int], gross: int, tax_share: int, shipping: list[tuple[int, int]], ship_refund: int
) -> None:
    order = order_with(rates, shipping)
    amount = Money.from_minor(gross, "PLN")
    tax = Money.from_minor(gross * tax_share // 100, "PLN") if rates else Money.zero("PLN")
    ship = Money.from_minor(ship_refund, "PLN")
    request = RefundRequest(
        effect_key="k",
        order_id="1",
        amount=amount + ship,
        lines=(RefundLine(line_item_id="11", quantity=1, amount=amount, tax=tax),),
        shipping=ship,
    )
    body = CLIENT.refund_body(request, order)
    line, *ship_items = body["line_items"]
    assert line_sum(line) == amount.amount
    assert all(Decimal(t["refund_total"]) >= 0 for t in line["refund_tax"])
    assert {t["id"] for t in line["refund_tax"]} <= {70 + i for i in range(len(rates))}
    if rates and any(rates):
        assert sum((Decimal(t["refund_total"]) for t in line["refund_tax"]), Decimal(0)) == tax.amount
    assert sum((line_sum(item) for item in ship_items), Decimal(0)) == ship.amount
    assert Decimal(body["amount"]) == amount.amount + ship.amount
