"""The fake shop's data, held in the shape of the Admin GraphQL schema and served by graphql-core.

Records are plain dicts keyed by GraphQL field names, so graphql-core's default resolver serves
any selection the schema allows; connections and sized lists are small callables that honour
``first``/``after``. Orders come in REST/webhook shape (``orders_create.json``) and are converted
here, following the field correspondences of Shopify's docs (``price_set`` → ``originalUnitPriceSet``,
``financial_status`` → ``displayFinancialStatus``...). Mutations implement the rules the engine
relies on: refunds cannot exceed what a payment took, quantities cannot exceed what was bought,
``@idempotent(key:)`` returns the first result for a repeated key, return actions check state.
"""

from __future__ import annotations

import base64
import itertools
import operator
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from graphql import GraphQLError, GraphQLResolveInfo
from graphql.execution.values import get_directive_values

Record = dict[str, Any]

_ID_SEQUENCE_START = 7_205_759_403_792_793_600
"""New ids are > 2**62: any float on the way would lose their last digits and break tests."""


def now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def gid(kind: str, value: Any) -> str:
    text = str(value)
    return text if text.startswith("gid://") else f"gid://shopify/{kind}/{text}"


def numeric(value: str) -> str:
    return value.rsplit("/", 1)[-1].split("?")[0]


def _cursor(node_id: str) -> str:
    return base64.b64encode(node_id.encode()).decode()


def _uncursor(cursor: str) -> str:
    try:
        return base64.b64decode(cursor.encode()).decode()
    except ValueError:
        raise GraphQLError(f"Invalid cursor for current pagination sort: {cursor!r}") from None


def page(nodes: list[Record], first: int | None = None, after: str | None = None, **_: Any) -> Record:
    """A Relay connection over ``nodes`` (cursor = the node's id)."""
    start = 0
    if after:
        target = _uncursor(after)
        ids = [n["id"] for n in nodes]
        if target not in ids:
            raise GraphQLError(f"Invalid cursor for current pagination sort: {after!r}")
        start = ids.index(target) + 1
    if first is not None and first > 250:
        raise GraphQLError("The 'first' argument cannot exceed 250")
    end = len(nodes) if first is None else start + first
    chunk = nodes[start:end]
    return {
        "nodes": chunk,
        "edges": [{"cursor": _cursor(n["id"]), "node": n} for n in chunk],
        "pageInfo": {
            "hasNextPage": end < len(nodes),
            "hasPreviousPage": start > 0,
            "startCursor": _cursor(chunk[0]["id"]) if chunk else None,
            "endCursor": _cursor(chunk[-1]["id"]) if chunk else None,
        },
    }


class Conn:
    """A connection field backed by a live list (appending to the list shows in later reads)."""

    def __init__(self, nodes: list[Record] | None = None) -> None:
        self.nodes: list[Record] = nodes if nodes is not None else []

    def __call__(self, info: GraphQLResolveInfo[Any], **args: Any) -> Record:
        return page(self.nodes, args.get("first"), args.get("after"))


class Sized:
    """A list field with an optional ``first`` argument (``Order.refunds(first:)``)."""

    def __init__(self, items: list[Record] | None = None) -> None:
        self.items: list[Record] = items if items is not None else []

    def __call__(self, info: GraphQLResolveInfo[Any], **args: Any) -> list[Record]:
        first = args.get("first")
        return self.items if first is None else self.items[:first]


def bag(amount: Decimal | str, currency: str, shop_currency: str | None = None) -> Record:
    money = {"amount": str(amount), "currencyCode": currency}
    shop = {"amount": str(amount), "currencyCode": shop_currency or currency}
    return {"presentmentMoney": money, "shopMoney": shop}


def rest_bag(value: Any, fallback_amount: Any, currency: str) -> Record:
    """A REST ``*_set`` (snake_case) as a GraphQL ``MoneyBag``."""
    if isinstance(value, Mapping):
        p = value.get("presentment_money") or value.get("shop_money") or {}
        s = value.get("shop_money") or p
        return {
            "presentmentMoney": {
                "amount": str(p.get("amount")),
                "currencyCode": p.get("currency_code") or currency,
            },
            "shopMoney": {"amount": str(s.get("amount")), "currencyCode": s.get("currency_code") or currency},
        }
    return bag(str(fallback_amount if fallback_amount is not None else "0.00"), currency)


def amount_of(money_bag: Record) -> Decimal:
    return Decimal(money_bag["presentmentMoney"]["amount"])


_FULFILLMENT_DISPLAY = {
    "delivered": "DELIVERED",
    "in_transit": "IN_TRANSIT",
    "out_for_delivery": "OUT_FOR_DELIVERY",
    "attempted_delivery": "ATTEMPTED_DELIVERY",
    "failure": "FAILURE",
    "confirmed": "CONFIRMED",
    "label_printed": "LABEL_PRINTED",
    "label_purchased": "LABEL_PURCHASED",
    "ready_for_pickup": "READY_FOR_PICKUP",
    "picked_up": "PICKED_UP",
}


class UserErrors(Exception):
    """Raised inside a mutation to answer ``userErrors`` (rolled back by copying before changing)."""

    def __init__(self, errors: list[Record]) -> None:
        super().__init__("; ".join(e["message"] for e in errors))
        self.errors = errors


def user_error(field: list[str], message: str, code: str | None = None) -> Record:
    error: Record = {"field": field, "message": message}
    if code is not None:
        error["code"] = code
    return error


class ShopState:
    """Everything the fake shop knows. Callers hold :attr:`lock` while reading or executing."""

    def __init__(self, *, shop_domain: str, currency: str = "USD") -> None:
        self.lock = threading.RLock()
        self.shop_domain = shop_domain
        self.currency = currency
        self._ids = itertools.count(_ID_SEQUENCE_START)
        self.orders: dict[str, Record] = {}
        self.lines: dict[str, Record] = {}
        self.fulfillments: dict[str, Record] = {}
        self.fulfillment_lines: dict[str, Record] = {}
        self.refunds: dict[str, Record] = {}
        self.transactions: dict[str, Record] = {}
        self.variants: dict[str, Record] = {}
        self.products: dict[str, Record] = {}
        self.returns: dict[str, Record] = {}
        self.webhooks: dict[str, Record] = {}
        self.idempotency: dict[str, tuple[str, Record]] = {}
        """``@idempotent`` key → (mutation field, its payload) of the first execution."""
        self.refund_keys: dict[str, str | None] = {}
        """Refund GID → the idempotency key it was created with."""

    def new_id(self) -> str:
        return str(next(self._ids))

    # -- building state from REST (webhook) shapes -----------------------------------------------

    def add_order(self, rest: Mapping[str, Any], transactions: list[Mapping[str, Any]] | None = None) -> str:
        currency = str(rest.get("presentment_currency") or rest.get("currency") or self.currency)
        order_gid = gid("Order", rest["id"])
        created = rest.get("created_at")
        order: Record = {
            "__typename": "Order",
            "id": order_gid,
            "legacyResourceId": str(rest["id"]),
            "name": rest.get("name") or f"#{rest.get('order_number', rest['id'])}",
            "number": int(rest.get("number") or 1),
            "createdAt": created,
            "processedAt": rest.get("processed_at") or created,
            "updatedAt": rest.get("updated_at") or created,
            "cancelledAt": rest.get("cancelled_at"),
            "cancelReason": (rest.get("cancel_reason") or "").upper() or None,
            "closedAt": rest.get("closed_at"),
            "closed": bool(rest.get("closed_at")),
            "currencyCode": rest.get("currency") or currency,
            "presentmentCurrencyCode": currency,
            "taxesIncluded": bool(rest.get("taxes_included")),
            "displayFinancialStatus": (rest.get("financial_status") or "").upper() or None,
            "sourceName": rest.get("source_name"),
            "paymentGatewayNames": list(rest.get("payment_gateway_names") or []),
            "tags": [t.strip() for t in str(rest.get("tags") or "").split(",") if t.strip()],
            "email": rest.get("email") or rest.get("contact_email"),
            "phone": rest.get("phone"),
            "customerLocale": rest.get("customer_locale"),
            "note": rest.get("note"),
            "test": bool(rest.get("test")),
            "totalPriceSet": rest_bag(rest.get("total_price_set"), rest.get("total_price"), currency),
            "customer": self._customer(rest.get("customer")),
        }
        lines = [self._line(line, order, currency) for line in rest.get("line_items") or []]
        order["lineItems"] = Conn(lines)
        order["shippingLines"] = Conn(
            [self._shipping(s, currency) for s in rest.get("shipping_lines") or [] if not s.get("is_removed")]
        )
        order["fulfillments"] = Sized([self._fulfillment(f, order) for f in rest.get("fulfillments") or []])
        order["transactions"] = Sized([])
        order["refunds"] = Sized([])
        order["returns"] = Conn([])
        self.orders[order_gid] = order
        for tx in transactions if transactions is not None else self._default_transactions(rest, currency):
            self._add_transaction(order, tx, currency)
        for refund in rest.get("refunds") or []:
            self._rest_refund(order, refund, currency)
        return str(rest["id"])

    def _customer(self, rest: Any) -> Record | None:
        if not isinstance(rest, Mapping) or rest.get("id") is None:
            return None
        return {
            "id": gid("Customer", rest["id"]),
            "firstName": rest.get("first_name"),
            "lastName": rest.get("last_name"),
            "email": rest.get("email"),
            "displayName": " ".join(str(rest[k]) for k in ("first_name", "last_name") if rest.get(k)),
        }

    def _line(self, rest: Mapping[str, Any], order: Record, currency: str) -> Record:
        line_gid = gid("LineItem", rest["id"])
        line: Record = {
            "__typename": "LineItem",
            "id": line_gid,
            "name": rest.get("name") or rest.get("title") or "",
            "title": rest.get("title") or rest.get("name") or "",
            "sku": rest.get("sku"),
            "quantity": int(rest.get("quantity") or 0),
            "currentQuantity": int(rest.get("current_quantity", rest.get("quantity")) or 0),
            "refundableQuantity": int(rest.get("quantity") or 0),
            "product": {"id": gid("Product", rest["product_id"])} if rest.get("product_id") else None,
            "variant": {"id": gid("ProductVariant", rest["variant_id"])} if rest.get("variant_id") else None,
            "originalUnitPriceSet": rest_bag(rest.get("price_set"), rest.get("price"), currency),
            "discountAllocations": [
                {"allocatedAmountSet": rest_bag(d.get("amount_set"), d.get("amount"), currency)}
                for d in rest.get("discount_allocations") or []
            ],
            "taxLines": Sized(
                [
                    {
                        "priceSet": rest_bag(t.get("price_set"), t.get("price"), currency),
                        "title": t.get("title") or "",
                        "rate": t.get("rate"),
                    }
                    for t in rest.get("tax_lines") or []
                ]
            ),
            "order": order,
        }
        self.lines[line_gid] = line
        return line

    def _shipping(self, rest: Mapping[str, Any], currency: str) -> Record:
        return {
            "id": gid("ShippingLine", rest["id"]),
            "title": rest.get("title") or "",
            "code": rest.get("code"),
            "custom": False,
            "isRemoved": False,
            "originalPriceSet": rest_bag(rest.get("price_set"), rest.get("price"), currency),
            "discountedPriceSet": rest_bag(
                rest.get("discounted_price_set"), rest.get("discounted_price"), currency
            ),
            "currentDiscountedPriceSet": rest_bag(
                rest.get("discounted_price_set"), rest.get("discounted_price"), currency
            ),
            "discountAllocations": [
                {"allocatedAmountSet": rest_bag(d.get("amount_set"), d.get("amount"), currency)}
                for d in rest.get("discount_allocations") or []
            ],
            "taxLines": [
                {
                    "priceSet": rest_bag(t.get("price_set"), t.get("price"), currency),
                    "title": t.get("title") or "",
                }
                for t in rest.get("tax_lines") or []
            ],
        }

    def _fulfillment(self, rest: Mapping[str, Any], order: Record) -> Record:
        f_gid = gid("Fulfillment", rest["id"])
        shipment = str(rest.get("shipment_status") or "")
        display = _FULFILLMENT_DISPLAY.get(shipment, "FULFILLED" if rest.get("status") == "success" else None)
        items = []
        for item in rest.get("line_items") or []:
            fli: Record = {
                "id": gid("FulfillmentLineItem", item.get("fulfillment_line_item_id") or self.new_id()),
                "quantity": int(item.get("quantity") or 0),
                "lineItem": self.lines[gid("LineItem", item["id"])],
            }
            self.fulfillment_lines[fli["id"]] = fli
            items.append(fli)
        updated = rest.get("updated_at") or rest.get("created_at")
        record: Record = {
            "id": f_gid,
            "name": rest.get("name") or f_gid,
            "status": str(rest.get("status") or "success").upper(),
            "displayStatus": display,
            "createdAt": rest.get("created_at"),
            "updatedAt": updated,
            "inTransitAt": updated if shipment in ("in_transit", "out_for_delivery") else None,
            "deliveredAt": rest.get("delivered_at") or (updated if shipment == "delivered" else None),
            "trackingInfo": Sized(
                [
                    {
                        "number": rest.get("tracking_number"),
                        "company": rest.get("tracking_company"),
                        "url": rest.get("tracking_url"),
                    }
                ]
            )
            if rest.get("tracking_number")
            else Sized([]),
            "location": {"id": gid("Location", rest["location_id"]), "name": "Warehouse"}
            if rest.get("location_id")
            else None,
            "fulfillmentLineItems": Conn(items),
            "totalQuantity": sum(i["quantity"] for i in items),
            "requiresShipping": True,
            "order": order,
        }
        self.fulfillments[f_gid] = record
        return record

    def _default_transactions(self, rest: Mapping[str, Any], currency: str) -> list[Mapping[str, Any]]:
        """What a checkout leaves behind: a sale for paid orders, an authorization otherwise."""
        gateways = [g for g in rest.get("payment_gateway_names") or [] if g]
        gateway = gateways[-1] if gateways else "manual"
        total = rest_bag(rest.get("total_price_set"), rest.get("total_price"), currency)["presentmentMoney"][
            "amount"
        ]
        status = rest.get("financial_status")
        when = rest.get("processed_at") or rest.get("created_at")
        if status in ("paid", "partially_refunded", "refunded", "partially_paid"):
            return [
                {
                    "kind": "SALE",
                    "status": "SUCCESS",
                    "gateway": gateway,
                    "amount": total,
                    "processedAt": when,
                }
            ]
        if status == "authorized":
            return [
                {
                    "kind": "AUTHORIZATION",
                    "status": "SUCCESS",
                    "gateway": gateway,
                    "amount": total,
                    "processedAt": when,
                }
            ]
        if status == "voided":
            return [
                {
                    "kind": "AUTHORIZATION",
                    "status": "SUCCESS",
                    "gateway": gateway,
                    "amount": total,
                    "processedAt": when,
                },
                {
                    "kind": "VOID",
                    "status": "SUCCESS",
                    "gateway": gateway,
                    "amount": total,
                    "processedAt": when,
                },
            ]
        return []

    def _add_transaction(self, order: Record, tx: Mapping[str, Any], currency: str) -> Record:
        tx_gid = gid("OrderTransaction", tx.get("id") or self.new_id())
        parent = tx.get("parentId") or tx.get("parent_id")
        record: Record = {
            "id": tx_gid,
            "kind": str(tx.get("kind") or "SALE").upper(),
            "status": str(tx.get("status") or "SUCCESS").upper(),
            "gateway": tx.get("gateway") or "manual",
            "processedAt": tx.get("processedAt") or iso(now()),
            "createdAt": tx.get("createdAt") or tx.get("processedAt") or iso(now()),
            "amountSet": bag(Decimal(str(tx.get("amount") or "0")), currency, order["currencyCode"]),
            "parentTransaction": self.transactions.get(gid("OrderTransaction", parent)) if parent else None,
            "test": order.get("test", False),
            "manualPaymentGateway": False,
            "order": order,
        }
        self.transactions[tx_gid] = record
        order["transactions"].items.append(record)
        return record

    def _rest_refund(self, order: Record, rest: Mapping[str, Any], currency: str) -> None:
        """Refunds already on an order sent in REST shape (they happened before the test starts)."""
        captures = [
            t
            for t in order["transactions"].items
            if t["kind"] in ("SALE", "CAPTURE") and t["status"] == "SUCCESS"
        ]
        txs = []
        for t in rest.get("transactions") or []:
            if t.get("kind") == "refund" and t.get("status") == "success":
                txs.append(
                    {
                        "kind": "REFUND",
                        "status": "SUCCESS",
                        "gateway": t.get("gateway"),
                        "amount": t.get("amount"),
                        "parentId": captures[0]["id"] if captures else None,
                    }
                )
        lines = [
            {
                "lineItemId": gid("LineItem", li["line_item_id"]),
                "quantity": li["quantity"],
                "restockType": str(li.get("restock_type") or "no_restock").upper(),
            }
            for li in rest.get("refund_line_items") or []
        ]
        self._make_refund(
            order,
            lines=lines,
            transactions=txs,
            note=rest.get("note"),
            refund_id=str(rest["id"]),
            created=rest.get("created_at"),
        )

    def set_stock(
        self,
        variant_id: str | int,
        quantity: int | None,
        *,
        product_id: str | int | None = None,
        sku: str | None = None,
        policy: str = "DENY",
    ) -> None:
        v_gid = gid("ProductVariant", variant_id)
        variant = self.variants.get(v_gid)
        stamp = iso(now())
        if variant is None:
            p_gid = gid("Product", product_id if product_id is not None else self.new_id())
            product = self.products.setdefault(
                p_gid,
                {"id": p_gid, "title": f"Product {numeric(p_gid)}", "updatedAt": stamp, "variants": Conn([])},
            )
            variant = {
                "id": v_gid,
                "legacyResourceId": numeric(v_gid),
                "title": "Default Title",
                "sku": sku,
                "price": "0.00",
                "inventoryPolicy": policy,
                "createdAt": stamp,
                "product": product,
                "inventoryItem": {"id": gid("InventoryItem", self.new_id()), "tracked": quantity is not None},
            }
            product["variants"].nodes.append(variant)
            self.variants[v_gid] = variant
        variant["inventoryQuantity"] = quantity
        variant["inventoryItem"]["tracked"] = quantity is not None
        variant["availableForSale"] = (
            quantity is None or quantity > 0 or variant["inventoryPolicy"] == "CONTINUE"
        )
        variant["updatedAt"] = stamp
        variant["product"]["updatedAt"] = stamp
        if sku is not None:
            variant["sku"] = sku

    def add_return(
        self,
        order_id: str | int,
        lines: list[tuple[str | int, int]],
        *,
        status: str = "REQUESTED",
        reason: str = "UNWANTED",
        return_id: str | int | None = None,
    ) -> str:
        """A return for ``lines`` (order line item id, quantity), with the fulfillment lines it needs."""
        order = self.orders[gid("Order", order_id)]
        r_gid = gid("Return", return_id if return_id is not None else self.new_id())
        items = []
        for line_id, quantity in lines:
            line = self.lines[gid("LineItem", line_id)]
            fli = next((f for f in self.fulfillment_lines.values() if f["lineItem"] is line), None)
            if fli is None:
                fli = {
                    "id": gid("FulfillmentLineItem", self.new_id()),
                    "quantity": line["quantity"],
                    "lineItem": line,
                }
                self.fulfillment_lines[fli["id"]] = fli
            items.append(
                {
                    "__typename": "ReturnLineItem",
                    "id": gid("ReturnLineItem", self.new_id()),
                    "quantity": quantity,
                    "processedQuantity": 0,
                    "unprocessedQuantity": quantity,
                    "processableQuantity": quantity,
                    "refundableQuantity": quantity,
                    "refundedQuantity": 0,
                    "returnReason": reason,
                    "returnReasonNote": "",
                    "customerNote": None,
                    "fulfillmentLineItem": fli,
                }
            )
        record: Record = {
            "id": r_gid,
            "name": f"{order['name']}-R{len(order['returns'].nodes) + 1}",
            "status": status,
            "order": order,
            "decline": None,
            "createdAt": iso(now()),
            "closedAt": None,
            "totalQuantity": sum(i["quantity"] for i in items),
            "returnLineItems": Conn(items),
            "returnShippingFees": [],
        }
        self.returns[r_gid] = record
        order["returns"].nodes.append(record)
        return numeric(r_gid)

    # -- queries ----------------------------------------------------------------------------------

    def query_root(self) -> Record:
        return {
            "order": lambda info, id: self.orders.get(id),
            "orders": self._orders,
            "fulfillment": lambda info, id: self.fulfillments.get(id),
            "refund": lambda info, id: self.refunds.get(id),
            "product": lambda info, id: self.products.get(id),
            "productVariant": lambda info, id: self.variants.get(id),
            "productVariants": self._variants,
            "return": lambda info, id: self.returns.get(id),
            "webhookSubscriptions": self._webhooks,
        }

    def _orders(self, info: GraphQLResolveInfo[Any], **args: Any) -> Record:
        nodes = _search(list(self.orders.values()), args.get("query"))
        key = args.get("sortKey") or "PROCESSED_AT"
        field = {
            "UPDATED_AT": "updatedAt",
            "CREATED_AT": "createdAt",
            "PROCESSED_AT": "processedAt",
            "ID": "id",
        }.get(key)
        if field is None:
            raise GraphQLError(f"the fake shop does not sort orders by {key}")
        nodes.sort(key=lambda n: (_sort_value(n[field]), n["id"]), reverse=bool(args.get("reverse")))
        return page(nodes, args.get("first"), args.get("after"))

    def _variants(self, info: GraphQLResolveInfo[Any], **args: Any) -> Record:
        nodes = sorted(
            _search(list(self.variants.values()), args.get("query")), key=lambda n: int(numeric(n["id"]))
        )
        return page(nodes, args.get("first"), args.get("after"))

    def _webhooks(self, info: GraphQLResolveInfo[Any], **args: Any) -> Record:
        nodes = list(self.webhooks.values())
        if args.get("topics"):
            nodes = [n for n in nodes if n["topic"] in args["topics"]]
        if args.get("uri"):
            nodes = [n for n in nodes if n["uri"] == args["uri"]]
        return page(nodes, args.get("first"), args.get("after"))

    # -- mutations --------------------------------------------------------------------------------

    def mutation_root(self, api_version: str) -> Record:
        return {
            "refundCreate": lambda info, input: self._idempotent(
                info, api_version, "refundCreate", lambda: self._refund_create(input)
            ),
            "orderUpdate": lambda info, input: self._guard(lambda: self._order_update(input), "order"),
            "returnApproveRequest": lambda info, input: self._guard(
                lambda: self._return_move(input["id"], "REQUESTED", "OPEN"), "return"
            ),
            "returnDeclineRequest": lambda info, input: self._guard(
                lambda: self._return_decline(input), "return"
            ),
            "returnClose": lambda info, id: self._guard(
                lambda: self._return_move(id, "OPEN", "CLOSED"), "return"
            ),
            "returnProcess": lambda info, input: self._guard(lambda: self._return_process(input), "return"),
            "webhookSubscriptionCreate": lambda info, topic, webhookSubscription: self._guard(
                lambda: self._webhook_create(topic, webhookSubscription), "webhookSubscription"
            ),
            "webhookSubscriptionUpdate": lambda info, id, webhookSubscription: self._guard(
                lambda: self._webhook_update(id, webhookSubscription), "webhookSubscription"
            ),
        }

    @staticmethod
    def _guard(action: Callable[[], Record], result_field: str) -> Record:
        try:
            return {result_field: action(), "userErrors": []}
        except UserErrors as exc:
            return {result_field: None, "userErrors": exc.errors}

    def _idempotent(
        self, info: GraphQLResolveInfo[Any], api_version: str, field: str, action: Callable[[], Record]
    ) -> Record:
        """``@idempotent(key:)``: the first result for a key is the answer to every repeat."""
        directive = info.schema.get_directive("idempotent")
        values = (
            get_directive_values(directive, info.field_nodes[0], info.variable_values) if directive else None
        )
        key = values.get("key") if values else None
        if key is None:
            if api_version >= "2026-04":
                raise GraphQLError(
                    f"The @idempotent directive is required for {field} from API version 2026-04."
                )
            return self._guard(action, "refund")
        if key in self.idempotency:
            first_field, payload = self.idempotency[key]
            if first_field != field:
                raise GraphQLError(f"Idempotency key {key!r} was already used for {first_field}.")
            return payload
        payload = self._guard(action, "refund")
        if payload["refund"] is not None:
            self.refund_keys[payload["refund"]["id"]] = key
        self.idempotency[key] = (field, payload)
        return payload

    def _order(self, order_id: str, field: list[str]) -> Record:
        order = self.orders.get(order_id)
        if order is None:
            raise UserErrors([user_error(field, "Order does not exist")])
        return order

    def _refund_create(self, data: Mapping[str, Any]) -> Record:
        order = self._order(data["orderId"], ["orderId"])
        errors: list[Record] = []
        currency = order["presentmentCurrencyCode"]
        if data.get("currency") and data["currency"] != currency:
            errors.append(
                user_error(["currency"], f"Currency must match the order's presentment currency {currency}")
            )
        refunded_qty: dict[str, int] = {}
        for refund in order["refunds"].items:
            for rli in refund["refundLineItems"].nodes:
                refunded_qty[rli["lineItem"]["id"]] = (
                    refunded_qty.get(rli["lineItem"]["id"], 0) + rli["quantity"]
                )
        for i, line in enumerate(data.get("refundLineItems") or []):
            item = self.lines.get(line["lineItemId"])
            if item is None or item["order"] is not order:
                errors.append(
                    user_error(
                        ["refundLineItems", str(i), "lineItemId"], "Line item does not belong to the order"
                    )
                )
                continue
            left = item["quantity"] - refunded_qty.get(item["id"], 0)
            if line["quantity"] < 1 or line["quantity"] > left:
                errors.append(
                    user_error(
                        ["refundLineItems", str(i), "quantity"],
                        f"Quantity cannot refund more items than were purchased (refundable: {left})",
                    )
                )
            if line.get("locationId") and not line["locationId"].startswith("gid://shopify/Location/"):
                errors.append(user_error(["refundLineItems", str(i), "locationId"], "Location is invalid"))
        refunded_by_parent: dict[str, Decimal] = {}
        for tx in order["transactions"].items:
            if tx["kind"] == "REFUND" and tx["status"] == "SUCCESS" and tx["parentTransaction"]:
                pid = tx["parentTransaction"]["id"]
                refunded_by_parent[pid] = refunded_by_parent.get(pid, Decimal(0)) + amount_of(tx["amountSet"])
        for i, tx in enumerate(data.get("transactions") or []):
            parent = self.transactions.get(tx.get("parentId") or "")
            where = ["transactions", str(i)]
            if tx["kind"] != "REFUND":
                errors.append(user_error([*where, "kind"], "Transaction kind must be refund"))
            if tx["orderId"] != order["id"]:
                errors.append(
                    user_error([*where, "orderId"], "Transaction must belong to the refunded order")
                )
            if (
                parent is None
                or parent["order"] is not order
                or parent["kind"] not in ("SALE", "CAPTURE")
                or parent["status"] != "SUCCESS"
            ):
                errors.append(
                    user_error(
                        [*where, "parentId"],
                        "Parent transaction must be a successful sale or capture of the order",
                    )
                )
                continue
            if tx["gateway"] != parent["gateway"]:
                errors.append(
                    user_error(
                        [*where, "gateway"],
                        f"Gateway must match the parent transaction ({parent['gateway']})",
                    )
                )
            amount = Decimal(str(tx["amount"]))
            left = amount_of(parent["amountSet"]) - refunded_by_parent.get(parent["id"], Decimal(0))
            if amount <= 0 or amount > left:
                errors.append(
                    user_error(
                        [*where, "amount"],
                        f"Amount {amount} is more than can be refunded on the transaction ({left})",
                    )
                )
            refunded_by_parent[parent["id"]] = refunded_by_parent.get(parent["id"], Decimal(0)) + amount
        if errors:
            raise UserErrors(errors)
        txs = [{**t, "status": "SUCCESS"} for t in data.get("transactions") or []]
        return self._make_refund(
            order, lines=list(data.get("refundLineItems") or []), transactions=txs, note=data.get("note")
        )

    def _make_refund(
        self,
        order: Record,
        *,
        lines: Sequence[Mapping[str, Any]],
        transactions: Sequence[Mapping[str, Any]],
        note: str | None,
        refund_id: str | None = None,
        created: str | None = None,
    ) -> Record:
        currency = order["presentmentCurrencyCode"]
        r_gid = gid("Refund", refund_id or self.new_id())
        stamp = created or iso(now())
        tx_records = [self._add_transaction(order, t, currency) for t in transactions]
        total = sum((amount_of(t["amountSet"]) for t in tx_records), Decimal(0))
        rlis = []
        for line in lines:
            item = self.lines[line["lineItemId"]]
            unit = amount_of(item["originalUnitPriceSet"])
            restock = str(line.get("restockType") or "NO_RESTOCK").upper()
            rlis.append(
                {
                    "id": gid("RefundLineItem", self.new_id()),
                    "quantity": int(line["quantity"]),
                    "restockType": restock,
                    "restocked": restock in ("RETURN", "CANCEL", "LEGACY_RESTOCK"),
                    "location": {"id": line["locationId"], "name": "Warehouse"}
                    if line.get("locationId")
                    else None,
                    "lineItem": item,
                    "priceSet": bag(unit, currency),
                    "subtotalSet": bag(unit * int(line["quantity"]), currency),
                    "totalTaxSet": bag(Decimal("0.00"), currency),
                }
            )
            item["refundableQuantity"] = max(0, item["refundableQuantity"] - int(line["quantity"]))
            variant = self.variants.get(item["variant"]["id"]) if item.get("variant") else None
            if (
                variant is not None
                and restock in ("RETURN", "CANCEL")
                and variant.get("inventoryQuantity") is not None
            ):
                self.set_stock(numeric(variant["id"]), variant["inventoryQuantity"] + int(line["quantity"]))
        refund: Record = {
            "id": r_gid,
            "legacyResourceId": numeric(r_gid),
            "createdAt": stamp,
            "updatedAt": stamp,
            "processedAt": stamp,
            "note": note,
            "order": order,
            "totalRefundedSet": bag(total, currency, order["currencyCode"]),
            "refundLineItems": Conn(rlis),
            "transactions": Conn(tx_records),
            "refundShippingLines": Conn([]),
            "return": None,
        }
        self.refunds[r_gid] = refund
        order["refunds"].items.append(refund)
        captured = sum(
            (
                amount_of(t["amountSet"])
                for t in order["transactions"].items
                if t["kind"] in ("SALE", "CAPTURE") and t["status"] == "SUCCESS"
            ),
            Decimal(0),
        )
        refunded = sum((amount_of(r["totalRefundedSet"]) for r in order["refunds"].items), Decimal(0))
        if captured > 0 and refunded > 0:
            order["displayFinancialStatus"] = "REFUNDED" if refunded >= captured else "PARTIALLY_REFUNDED"
        order["updatedAt"] = iso(now())
        return refund

    def _order_update(self, data: Mapping[str, Any]) -> Record:
        order = self._order(data["id"], ["id"])
        if "note" in data:
            order["note"] = data["note"]
        if "tags" in data and data["tags"] is not None:
            order["tags"] = list(data["tags"])
        order["updatedAt"] = iso(now())
        return order

    def _return(self, return_id: str) -> Record:
        ret = self.returns.get(return_id)
        if ret is None:
            raise UserErrors([user_error(["id"], "Return does not exist.", "NOT_FOUND")])
        return ret

    def _return_move(self, return_id: str, source: str, target: str) -> Record:
        ret = self._return(return_id)
        if ret["status"] != source:
            raise UserErrors(
                [
                    user_error(
                        ["id"],
                        f"Return is {ret['status'].lower()} and cannot be changed to {target.lower()}.",
                        "INVALID_STATE",
                    )
                ]
            )
        ret["status"] = target
        if target == "CLOSED":
            ret["closedAt"] = iso(now())
        ret["order"]["updatedAt"] = iso(now())
        return ret

    def _return_decline(self, data: Mapping[str, Any]) -> Record:
        ret = self._return_move(data["id"], "REQUESTED", "DECLINED")
        ret["decline"] = {"reason": data["declineReason"], "note": data.get("declineNote")}
        return ret

    def _return_process(self, data: Mapping[str, Any]) -> Record:
        ret = self._return(data["returnId"])
        if ret["status"] != "OPEN":
            raise UserErrors(
                [user_error(["input", "returnId"], "Return must be open to be processed.", "INVALID_STATE")]
            )
        by_id = {n["id"]: n for n in ret["returnLineItems"].nodes}
        errors = []
        for i, line in enumerate(data.get("returnLineItems") or []):
            item = by_id.get(line["id"])
            if item is None:
                errors.append(
                    user_error(
                        ["input", "returnLineItems", str(i), "id"],
                        "Return line item does not exist.",
                        "NOT_FOUND",
                    )
                )
            elif line["quantity"] > item["unprocessedQuantity"]:
                errors.append(
                    user_error(
                        ["input", "returnLineItems", str(i), "quantity"],
                        "Quantity exceeds the unprocessed quantity.",
                        "GREATER_THAN",
                    )
                )
        if errors:
            raise UserErrors(errors)
        for line in data.get("returnLineItems") or []:
            item = by_id[line["id"]]
            item["processedQuantity"] += line["quantity"]
            item["unprocessedQuantity"] -= line["quantity"]
            item["processableQuantity"] = item["unprocessedQuantity"]
        return ret

    def _webhook_create(self, topic: str, sub: Mapping[str, Any]) -> Record:
        uri = sub.get("uri")
        if not uri:
            raise UserErrors([user_error(["webhookSubscription", "uri"], "Address can't be blank")])
        if any(w["topic"] == topic and w["uri"] == uri for w in self.webhooks.values()):
            raise UserErrors(
                [user_error(["webhookSubscription", "uri"], "Address for this topic has already been taken")]
            )
        w_gid = gid("WebhookSubscription", self.new_id())
        stamp = iso(now())
        record = {
            "id": w_gid,
            "legacyResourceId": numeric(w_gid),
            "topic": topic,
            "uri": uri,
            "format": sub.get("format") or "JSON",
            "filter": sub.get("filter"),
            "includeFields": list(sub.get("includeFields") or []),
            "metafieldNamespaces": [],
            "metafields": [],
            "name": sub.get("name"),
            "createdAt": stamp,
            "updatedAt": stamp,
        }
        self.webhooks[w_gid] = record
        return record

    def _webhook_update(self, sub_id: str, sub: Mapping[str, Any]) -> Record:
        record = self.webhooks.get(sub_id)
        if record is None:
            raise UserErrors([user_error(["id"], "Webhook subscription does not exist")])
        if sub.get("uri"):
            record["uri"] = sub["uri"]
        if sub.get("format"):
            record["format"] = sub["format"]
        record["updatedAt"] = iso(now())
        return record


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
    "": operator.eq,
}
_TERM = re.compile(r"(?P<field>\w+):(?P<op>>=|<=|>|<)?(?P<value>'[^']*'|\"[^\"]*\"|\S+)")
_FIELDS = {"updated_at": "updatedAt", "created_at": "createdAt"}


def _sort_value(value: Any) -> Any:
    if isinstance(value, str) and value[:4].isdigit() and "T" in value:
        return datetime.fromisoformat(value)
    return value


def _search(nodes: list[Record], query: str | None) -> list[Record]:
    """The subset of Shopify's search syntax the plugin uses: ``updated_at:>='2026-01-01T00:00:00Z'``."""
    if not query:
        return nodes
    result = nodes
    for term in _TERM.finditer(query):
        field = _FIELDS.get(term.group("field"))
        if field is None:
            raise GraphQLError(f"the fake shop does not implement the search filter {term.group('field')!r}")
        bound = datetime.fromisoformat(term.group("value").strip("'\""))
        compare = _COMPARE[term.group("op") or ""]
        result = [n for n in result if n.get(field) and compare(datetime.fromisoformat(n[field]), bound)]
    return result
