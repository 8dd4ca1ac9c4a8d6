"""The wc/v3 JSON shapes this plugin reads, as lenient pydantic models.

Why models and not ``dict`` lookups: a webhook body or an API answer that is not what the
topic promises (an order without ``id``, a quantity that is a string, an amount that is a
float) must become one clear error that names the field, not a ``KeyError`` deep inside the
mapping code. Unknown fields are ignored (WooCommerce and its extensions add fields all the
time); only the fields the plugin uses are declared.

Amounts: WooCommerce sends money as decimal strings (``"29.35"``, ``"0.9"``). A float would
already have lost exactness somewhere, so floats are refused here as everywhere in the domain.
Dates: every ``*_gmt`` field is UTC without an offset (``"2017-03-22T19:28:08"``); the site-local
twins (``date_created``...) are ignored because their offset is not in the payload.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError


def _amount(value: object) -> Decimal:
    if value is None or value == "":
        return Decimal(0)
    if isinstance(value, bool | float):
        raise ValueError(f"amounts must be decimal strings such as '12.34', got {value!r}")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"not a decimal amount: {value!r}") from None
        if not result.is_finite():
            raise ValueError(f"not a finite amount: {value!r}")
        return result
    raise ValueError(f"amounts must be decimal strings, got {type(value).__name__}")


def _gmt(value: object) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"not an ISO 8601 date: {value!r}") from None
    else:
        raise ValueError(f"dates must be ISO 8601 strings, got {type(value).__name__}")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _wc_id(value: object) -> int:
    """WooCommerce ids are integers (post ids); numeric strings are accepted, floats are not."""
    if isinstance(value, bool | float):
        raise ValueError(f"ids must be integers, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    raise ValueError(f"ids must be integers, got {value!r}")


Amount = Annotated[Decimal, BeforeValidator(_amount)]
GmtDate = Annotated[datetime | None, BeforeValidator(_gmt)]
WcId = Annotated[int, BeforeValidator(_wc_id)]


class _Wc(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class MetaDatum(_Wc):
    id: int | None = None
    key: str
    value: Any = None


class TaxShare(_Wc):
    """One tax rate's share of a line: ``id`` is the tax *rate* id (what ``refund_tax`` wants)."""

    id: WcId
    total: Amount = Decimal(0)
    subtotal: Amount = Decimal(0)


class WcLineItem(_Wc):
    id: WcId
    name: str = ""
    product_id: WcId = 0
    variation_id: WcId = 0
    quantity: int
    subtotal: Amount = Decimal(0)
    subtotal_tax: Amount = Decimal(0)
    total: Amount = Decimal(0)
    total_tax: Amount = Decimal(0)
    taxes: list[TaxShare] = Field(default_factory=list)
    meta_data: list[MetaDatum] = Field(default_factory=list)
    sku: str | None = None


class WcShippingLine(_Wc):
    id: WcId
    method_title: str = ""
    method_id: str = ""
    total: Amount = Decimal(0)
    total_tax: Amount = Decimal(0)
    taxes: list[TaxShare] = Field(default_factory=list)


class WcRefundRef(_Wc):
    """An entry of the order's ``refunds`` array: WooCommerce lists refunds with negative totals."""

    id: WcId
    reason: str | None = None
    total: Amount


class WcBilling(_Wc):
    first_name: str = ""
    last_name: str = ""
    email: str | None = None
    phone: str | None = None


class WcOrder(_Wc):
    id: WcId
    parent_id: WcId = 0
    number: str | None = None
    status: str
    currency: str
    date_created_gmt: GmtDate
    date_modified_gmt: GmtDate = None
    date_paid_gmt: GmtDate = None
    date_completed_gmt: GmtDate = None
    total: Amount
    total_tax: Amount = Decimal(0)
    prices_include_tax: bool = False
    customer_id: WcId = 0
    billing: WcBilling = Field(default_factory=WcBilling)
    payment_method: str | None = None
    created_via: str | None = None
    meta_data: list[MetaDatum] = Field(default_factory=list)
    line_items: list[WcLineItem]
    shipping_lines: list[WcShippingLine] = Field(default_factory=list)
    refunds: list[WcRefundRef] = Field(default_factory=list)

    def meta(self, key: str) -> Any:
        for datum in self.meta_data:
            if datum.key == key:
                return datum.value
        return None


class WcRefundLine(_Wc):
    id: WcId
    product_id: WcId = 0
    variation_id: WcId = 0
    quantity: int = 0
    """Negative in refunds (``-1`` = one unit given back)."""
    total: Amount = Decimal(0)
    total_tax: Amount = Decimal(0)
    meta_data: list[MetaDatum] = Field(default_factory=list)

    def refunded_item_id(self) -> str | None:
        """The order line this refund line refers to (WooCommerce keeps it in ``_refunded_item_id``)."""
        for datum in self.meta_data:
            if datum.key == "_refunded_item_id" and datum.value not in (None, ""):
                return str(datum.value)
        return None


class WcRefund(_Wc):
    id: WcId
    date_created_gmt: GmtDate = None
    amount: Amount
    reason: str | None = None
    refunded_payment: bool = False
    meta_data: list[MetaDatum] = Field(default_factory=list)
    line_items: list[WcRefundLine] = Field(default_factory=list)
    shipping_lines: list[WcRefundLine] = Field(default_factory=list)

    def meta(self, key: str) -> Any:
        for datum in self.meta_data:
            if datum.key == key:
                return datum.value
        return None


class WcProduct(_Wc):
    """A product or a variation (``type == "variation"``, ``parent_id`` = the variable product).

    ``manage_stock`` is ``true``/``false`` on products and may be the string ``"parent"`` on a
    variation whose stock is kept on its parent.
    """

    id: WcId
    parent_id: WcId = 0
    name: str | None = None
    type: str = "simple"
    status: str | None = None
    sku: str | None = None
    date_modified_gmt: GmtDate = None
    manage_stock: bool | str = False
    stock_quantity: int | None = None
    stock_status: str = "instock"
    variations: list[WcId] = Field(default_factory=list)


class WcWebhook(_Wc):
    id: WcId
    name: str = ""
    status: str
    topic: str
    delivery_url: str


class WcError(_Wc):
    """WooCommerce's error body: ``{"code": "...", "message": "...", "data": {"status": 400}}``."""

    code: str
    message: str = ""


def describe(error: ValidationError) -> str:
    """One line per problem, ``line_items.0.quantity: Input should be a valid integer``."""
    parts = []
    for item in error.errors():
        loc = ".".join(str(p) for p in item["loc"]) or "(body)"
        parts.append(f"{loc}: {item['msg']}")
    return "; ".join(parts)
