"""One WooCommerce shop as a :class:`aftersales.platforms.ShopClient` (REST wc/v3).

Refunds exactly once, without idempotency keys: WooCommerce has none, so every refund the
engine makes carries its effect key in the refund's ``meta_data`` (``_aftersales_effect_key``).
``find_refund`` looks for it; ``create_refund`` looks for it too before posting (a crash between
"sent" and "confirmed" in the ledger must never become a second refund), and a POST whose
answer was lost raises :class:`OutcomeUnknown` instead of being repeated.

Refund lines follow the wc/v3 create-refund shape::

    {"amount": "12.30", "reason": "...", "api_refund": true, "api_restock": false,
     "line_items": [{"id": 315, "quantity": 1, "refund_total": "3.00",
                     "refund_tax": [{"id": 75, "refund_total": "0.23"}]}],
     "meta_data": [{"key": "_aftersales_effect_key", "value": "<effect key>"}]}

``refund_total`` excludes tax; ``refund_tax`` is per tax *rate* id, which only the order knows,
so the order is read first. ``amount`` takes precedence at WooCommerce, the lines record what
was given back (and what to restock).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError

from aftersales.domain import Money, Order, RefundRecord, StockLevel, allocate
from aftersales.platforms import (
    OutcomeUnknown,
    PlatformError,
    RefundLine,
    RefundRequest,
    RejectedByPlatform,
    StoreCredentials,
)
from aftersales_woocommerce.orders import EFFECT_KEY_META, to_order, to_refund_record
from aftersales_woocommerce.payloads import TaxShare, WcOrder, WcProduct, WcRefund, describe
from aftersales_woocommerce.products import stock_level
from aftersales_woocommerce.rest import RetryPolicy, WooCommerceRest, parse_json


def wc_datetime(moment: datetime) -> str:
    """A datetime as WooCommerce's GMT query format (``2026-05-01T10:00:00``, no offset)."""
    if moment.tzinfo is None:
        raise ValueError("a time zone aware datetime is required")
    return moment.astimezone(UTC).replace(tzinfo=None, microsecond=0).isoformat()


def _numeric_id(value: str, what: str) -> int:
    if not value.strip().isdigit():
        raise RejectedByPlatform(f"{what} {value!r} is not a WooCommerce id (a positive integer)")
    return int(value)


def _validated(model: Any, data: Any, what: str) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise PlatformError(f"{what}: unexpected answer from the shop: {describe(exc)}") from None


def _split_tax(tax: Money, shares: list[TaxShare]) -> list[dict[str, Any]]:
    """Spread a line's refunded tax over its tax rates, in proportion to what each rate charged."""
    if tax.is_zero() or not shares:
        return []
    weights = [abs(s.total) for s in shares]
    parts = allocate(tax, weights)
    return [{"id": s.id, "refund_total": str(p.amount)} for s, p in zip(shares, parts, strict=True)]


class WooCommerceClient:
    """ShopClient for one WooCommerce shop. Thread-safe (no shared mutable state but a cache
    of order currencies, which never change)."""

    def __init__(
        self,
        credentials: StoreCredentials,
        *,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        kwargs: dict[str, Any] = {"retry": retry}
        if sleep is not None:
            kwargs["sleep"] = sleep
        self.rest = WooCommerceRest(credentials, **kwargs)
        self._currencies: dict[str, str] = {}

    # -- orders ---------------------------------------------------------------------------------

    def _wc_order(self, order_id: str) -> WcOrder:
        oid = _numeric_id(order_id, "order id")
        data = self.rest.get_json(f"orders/{oid}", what=f"read order {oid}")
        order: WcOrder = _validated(WcOrder, data, f"order {oid}")
        self._currencies[str(order.id)] = order.currency
        return order

    def _to_order(self, wc: WcOrder) -> Order:
        try:
            return to_order(wc)
        except ValueError as exc:
            raise PlatformError(f"order {wc.id}: cannot be read as an order: {exc}") from None

    def fetch_order(self, order_id: str) -> Order:
        return self._to_order(self._wc_order(order_id))

    def list_orders_changed_since(self, since: datetime) -> Iterator[Order]:
        """Orders modified after ``since`` (exclusive, second resolution: overlap your cursor).

        Ordered by id so that an order modified while we page does not shift the pages under us.
        """
        params = {
            "modified_after": wc_datetime(since),
            "dates_are_gmt": True,
            "orderby": "id",
            "order": "asc",
        }
        for item in self.rest.paginate("orders", params, what="list changed orders"):
            wc: WcOrder = _validated(WcOrder, item, "order in list")
            self._currencies[str(wc.id)] = wc.currency
            yield self._to_order(wc)

    # -- refunds --------------------------------------------------------------------------------

    def _currency(self, order_id: str) -> str:
        cached = self._currencies.get(order_id)
        return cached if cached is not None else self._wc_order(order_id).currency

    def list_refunds(self, order_id: str) -> list[RefundRecord]:
        oid = _numeric_id(order_id, "order id")
        currency = self._currency(str(oid))
        records = []
        for item in self.rest.paginate(f"orders/{oid}/refunds", what=f"list refunds of order {oid}"):
            refund: WcRefund = _validated(WcRefund, item, f"refund of order {oid}")
            records.append(to_refund_record(refund, str(oid), currency))
        return records

    def find_refund(self, order_id: str, effect_key: str) -> RefundRecord | None:
        for record in self.list_refunds(order_id):
            if record.effect_key == effect_key:
                return record
        return None

    def refund_body(self, request: RefundRequest, order: WcOrder) -> dict[str, Any]:
        """The wc/v3 create-refund body for ``request`` against ``order`` (see module docstring)."""
        currency = order.currency
        if request.amount.currency != currency:
            raise RejectedByPlatform(
                f"refund in {request.amount.currency} for order {order.id} which is in {currency}"
            )
        by_id = {str(line.id): line for line in order.line_items}
        lines: list[dict[str, Any]] = []
        for line in request.lines:
            wc_line = by_id.get(line.line_item_id)
            if wc_line is None:
                raise RejectedByPlatform(f"line {line.line_item_id} is not part of order {order.id}")
            lines.append(self._line_body(line, wc_line.taxes, wc_line.id))
        if request.shipping is not None and not request.shipping.is_zero():
            lines.extend(self._shipping_bodies(request.shipping, order))
        body: dict[str, Any] = {
            "amount": str(request.amount.amount),
            "reason": request.reason,
            "api_refund": request.move_money,
            # WooCommerce restocks per request, not per line: restock only when every line
            # asks for it (restocking goods that did not come back is the worse mistake).
            "api_restock": bool(request.lines) and all(line.restock for line in request.lines),
            "line_items": lines,
            "meta_data": [{"key": EFFECT_KEY_META, "value": request.effect_key}],
        }
        return body

    @staticmethod
    def _line_body(line: RefundLine, shares: list[TaxShare], wc_id: int) -> dict[str, Any]:
        taxes = _split_tax(line.tax, shares)
        # No tax rates on the line: the whole amount is the line's (nothing to split by rate).
        net = line.amount - line.tax if taxes else line.amount
        return {
            "id": wc_id,
            "quantity": line.quantity,
            "refund_total": str(net.amount),
            "refund_tax": taxes,
        }

    @staticmethod
    def _shipping_bodies(shipping: Money, order: WcOrder) -> list[dict[str, Any]]:
        """Spread a tax-inclusive shipping refund over the order's shipping lines."""
        if not order.shipping_lines:
            raise RejectedByPlatform(f"order {order.id} has no shipping line to refund shipping on")
        weights = [ship.total + ship.total_tax for ship in order.shipping_lines]
        parts = allocate(shipping, weights)
        bodies = []
        for ship, part in zip(order.shipping_lines, parts, strict=True):
            if part.is_zero():
                continue
            gross = ship.total + ship.total_tax
            tax = Money.zero(shipping.currency)
            if gross > 0 and ship.total_tax > 0:
                tax = Money.rounded(part.amount * ship.total_tax / gross, shipping.currency)
            taxes = _split_tax(tax, ship.taxes)
            net = part - tax if taxes else part
            bodies.append({"id": ship.id, "refund_total": str(net.amount), "refund_tax": taxes})
        return bodies

    def create_refund(self, request: RefundRequest) -> RefundRecord:
        order = self._wc_order(request.order_id)
        oid = str(order.id)
        existing = self.find_refund(oid, request.effect_key)
        if existing is not None:
            return existing
        body = self.refund_body(request, order)
        response = self.rest.request(
            "POST", f"orders/{oid}/refunds", data=body, what=f"refund {request.amount} on order {oid}"
        )
        try:
            refund = WcRefund.model_validate(parse_json(response.text))
        except ValueError:
            # The refund was made (2xx) but its answer is unreadable: read it back by its marker.
            found = self.find_refund(oid, request.effect_key)
            if found is not None:
                return found
            raise OutcomeUnknown(
                f"refund on order {oid}: HTTP {response.status_code} with an unreadable answer "
                f"({response.text[:120]!r}) and no refund carrying the effect key yet"
            ) from None
        record = to_refund_record(refund, oid, order.currency)
        if record.effect_key is None:  # an older WooCommerce that drops meta on create
            record = record.model_copy(update={"effect_key": request.effect_key})
        return record

    # -- notes ----------------------------------------------------------------------------------

    def add_note(self, order_id: str, text: str, *, customer_visible: bool) -> None:
        """Order note (``customer_note: true`` also e-mails the customer, WooCommerce's behaviour).

        A note POST whose answer was lost is repeated only after the notes were read and the
        same text was not found among the notes written since the first try.
        """
        oid = _numeric_id(order_id, "order id")
        started = datetime.now(UTC) - timedelta(seconds=2)

        def exists() -> bool:
            for note in self.rest.paginate(f"orders/{oid}/notes", {"type": "any"}, what="list notes"):
                if not isinstance(note, dict) or note.get("note") != text:
                    continue
                created = note.get("date_created_gmt")
                if not isinstance(created, str):
                    return True
                try:
                    when = datetime.fromisoformat(created).replace(tzinfo=UTC)
                except ValueError:
                    return True
                if when >= started.replace(microsecond=0):
                    return True
            return False

        self.rest.post_checked(
            f"orders/{oid}/notes",
            {"note": text, "customer_note": customer_visible},
            exists=exists,
            what=f"add note to order {oid}",
        )

    # -- stock ----------------------------------------------------------------------------------

    def read_stock(self, product_id: str, variant_id: str | None) -> StockLevel:
        pid = _numeric_id(product_id, "product id")
        if variant_id is None or variant_id == product_id:
            data = self.rest.get_json(f"products/{pid}", what=f"read product {pid}")
            product: WcProduct = _validated(WcProduct, data, f"product {pid}")
            return stock_level(product)  # a variation id here answers as type "variation" + parent_id
        vid = _numeric_id(variant_id, "variation id")
        data = self.rest.get_json(f"products/{pid}/variations/{vid}", what=f"read variation {vid}")
        variation: WcProduct = _validated(WcProduct, data, f"variation {vid}")
        return stock_level(variation, parent_id=pid)

    def list_stock_changed_since(self, since: datetime) -> Iterator[StockLevel]:
        """Products modified after ``since``; for variable ones, their variations modified after it.

        WooCommerce re-saves the parent when a variation's stock changes (its deferred product
        sync), so a variation-only restock still shows up as a modified parent.
        """
        params = {
            "modified_after": wc_datetime(since),
            "dates_are_gmt": True,
            "orderby": "id",
            "order": "asc",
        }
        for item in self.rest.paginate("products", params, what="list changed products"):
            product: WcProduct = _validated(WcProduct, item, "product in list")
            if product.type == "variable":
                if product.manage_stock is True:
                    yield stock_level(product)
                endpoint = f"products/{product.id}/variations"
                for raw in self.rest.paginate(endpoint, params, what=f"list variations of {product.id}"):
                    variation: WcProduct = _validated(WcProduct, raw, f"variation of {product.id}")
                    yield stock_level(variation, parent_id=product.id)
            else:
                yield stock_level(product)

    # -- platform actions -----------------------------------------------------------------------

    def platform_action(self, action: str, params: Mapping[str, Any], effect_key: str) -> dict[str, Any]:
        raise RejectedByPlatform(
            f"WooCommerce has no platform action {action!r}: it has no returns API "
            "(returns are tracked by aftersales itself; refunds go through create_refund)",
            code="unsupported_action",
        )
