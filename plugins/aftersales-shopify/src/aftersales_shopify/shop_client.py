"""One shop's Admin API as the engine sees it (:class:`aftersales.platforms.ShopClient`).

Only the engine calls the effectful methods (refunds, notes, return actions), always with an
effect key from its ledger; every method is safe to call again after :class:`OutcomeUnknown`:

* ``create_refund`` sends ``refundCreate @idempotent(key:)`` (same key → the same refund, never a
  second one) and writes the effect key into the refund's note, where ``find_refund`` looks;
* ``add_note`` reads the order note first and does nothing when the text is already there;
* return actions read the return first: a return already in the wanted state is a success.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from aftersales.domain import Order, RefundRecord, StockLevel
from aftersales.platforms import (
    NotFound,
    OutcomeUnknown,
    PlatformError,
    RefundRequest,
    RejectedByPlatform,
    StoreCredentials,
)
from aftersales_shopify._values import exact_id, gid, legacy_id
from aftersales_shopify.admin_api import AdminGraphQL, RetryPolicy
from aftersales_shopify.documents import load
from aftersales_shopify.orders import order_from_graphql
from aftersales_shopify.refunds import (
    effect_marker,
    idempotency_key,
    refund_from_graphql,
    refund_note,
    refundable_by_capture,
)
from aftersales_shopify.webhooks import TOPICS

DECLINE_REASONS = ("RETURN_PERIOD_ENDED", "FINAL_SALE", "OTHER")
"""``ReturnDeclineReason`` values of the Admin API."""

DISPOSITIONS = ("RESTOCKED", "PROCESSING_REQUIRED", "NOT_RESTOCKED", "MISSING")
"""``ReverseFulfillmentOrderDispositionType`` values of the Admin API."""


def connect(credentials: StoreCredentials) -> AdminGraphQL:
    """The transport for a shop registered with ``aftersales shop add``.

    ``credentials.url`` is ``https://<shop>.myshopify.com`` (or the bare domain). When it names
    another host (a proxy, a fake shop in tests), requests go there and the shop's own domain is
    taken from the extra field ``shop_domain``. Extra fields ``max_attempts``, ``backoff_seconds``
    and ``max_throttle_wait_seconds`` tune retries.
    """
    extra: dict[str, Any] = dict(credentials.model_extra or {})
    url = credentials.url or extra.get("domain")
    if not url:
        raise PlatformError("Shopify credentials need the shop URL (https://<shop>.myshopify.com)")
    parts = urlsplit(str(url) if "://" in str(url) else f"https://{url}")
    if not parts.hostname:
        raise PlatformError(f"not a shop URL: {url!r}")
    shop_domain = str(extra.get("shop_domain") or parts.hostname)
    endpoint = None if parts.hostname.endswith(".myshopify.com") else f"{parts.scheme}://{parts.netloc}"
    defaults = RetryPolicy()
    retry = RetryPolicy(
        attempts=int(extra.get("max_attempts", defaults.attempts)),
        backoff_seconds=float(extra.get("backoff_seconds", defaults.backoff_seconds)),
        max_throttle_wait_seconds=float(
            extra.get("max_throttle_wait_seconds", defaults.max_throttle_wait_seconds)
        ),
    )
    return AdminGraphQL(
        shop_domain=shop_domain,
        token=credentials.token or "",
        api_version=credentials.api_version,
        endpoint=endpoint,
        timeout=credentials.timeout_seconds,
        retry=retry,
    )


def _since_query(field: str, since: datetime) -> str:
    if since.tzinfo is None:
        raise ValueError("since must be time-zone aware")
    moment = since.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"{field}:>='{moment}'"


def _raise_user_errors(document: str, payload: Mapping[str, Any]) -> None:
    errors = payload.get("userErrors") or []
    if not errors:
        return
    first = errors[0]
    field = ".".join(str(f) for f in (first.get("field") or []))
    code = first.get("code") or field or None
    text = "; ".join(
        f"{'.'.join(str(f) for f in (e.get('field') or []))}: {e.get('message')}".lstrip(": ") for e in errors
    )
    raise RejectedByPlatform(f"{document}: {text}", code=code)


class ShopifyShopClient:
    """:class:`aftersales.platforms.ShopClient` over the Admin GraphQL API."""

    def __init__(self, api: AdminGraphQL) -> None:
        self.api = api

    @classmethod
    def from_credentials(cls, credentials: StoreCredentials) -> ShopifyShopClient:
        return cls(connect(credentials))

    def close(self) -> None:
        self.api.close()

    # -- paging -----------------------------------------------------------------------------------

    def _pages(
        self, name: str, variables: Mapping[str, Any], path: tuple[str, ...]
    ) -> Iterator[Mapping[str, Any]]:
        """Every node of the connection at ``path`` in ``name``'s data, following ``endCursor``."""
        after: str | None = None
        while True:
            data: Any = self.api.execute(load(name), {**variables, "after": after})
            for key in path:
                data = data.get(key) if isinstance(data, Mapping) else None
            if data is None:
                return
            yield from data["nodes"]
            info = data["pageInfo"]
            if not info["hasNextPage"]:
                return
            after = info["endCursor"]

    def _rest_of(
        self, connection: Mapping[str, Any], name: str, owner: str, path: tuple[str, ...]
    ) -> list[Mapping[str, Any]]:
        """A nested connection's first page plus the pages after it (``name`` pages by ``owner`` id)."""
        nodes = list(connection["nodes"])
        info = connection.get("pageInfo") or {}
        after = info.get("endCursor")
        while info.get("hasNextPage"):
            data: Any = self.api.execute(load(name), {"id": owner, "after": after})
            for key in path:
                data = data[key]
            nodes.extend(data["nodes"])
            info = data["pageInfo"]
            after = info["endCursor"]
        return nodes

    def _node(self, name: str, variables: Mapping[str, Any], what: str) -> dict[str, Any]:
        """The object at the document's root field; :class:`NotFound` when Shopify returns null."""
        doc = load(name)
        node = self.api.execute(doc, variables).get(doc.root_field)
        if not isinstance(node, dict):
            raise NotFound(f"Shopify {what} does not exist", status=404)
        return node

    # -- orders -----------------------------------------------------------------------------------

    def _order_node(self, order_id: str) -> Mapping[str, Any]:
        node = self._node("OrderFetch", {"id": gid("Order", order_id)}, f"order {order_id}")
        return node

    def _fulfillments(self, order_gid: str) -> list[Mapping[str, Any]]:
        node = self._node("OrderFulfillments", {"id": order_gid}, f"order {order_gid}")
        result: list[Mapping[str, Any]] = []
        for f in node.get("fulfillments") or []:
            nodes = self._rest_of(
                f["fulfillmentLineItems"],
                "FulfillmentLineItems",
                f["id"],
                ("fulfillment", "fulfillmentLineItems"),
            )
            result.append({**f, "fulfillmentLineItems": {"nodes": nodes}})
        return result

    def fetch_order(self, order_id: str) -> Order:
        node = self._order_node(order_id)
        lines = self._rest_of(node["lineItems"], "OrderLineItems", node["id"], ("order", "lineItems"))
        return order_from_graphql(
            node,
            line_items=lines,
            fulfillments=self._fulfillments(node["id"]),
            refunds=self.list_refunds(order_id),
        )

    def list_orders_changed_since(self, since: datetime) -> Iterator[Order]:
        for node in self._pages(
            "OrdersChangedSince", {"query": _since_query("updated_at", since)}, ("orders",)
        ):
            try:
                yield self.fetch_order(legacy_id(node["id"]))
            except NotFound:  # deleted between the listing and the read
                continue

    # -- refunds ----------------------------------------------------------------------------------

    _REFUND_PAGE = 30
    """``refunds(first:)`` in OrderRefunds; a full page means there may be more."""

    def list_refunds(self, order_id: str) -> list[RefundRecord]:
        node = self._node("OrderRefunds", {"id": gid("Order", order_id)}, f"order {order_id}")
        refunds = list(node.get("refunds") or [])
        if len(refunds) >= self._REFUND_PAGE:  # a plain list, not a connection: read the rest one by one
            seen = {r["id"] for r in refunds}
            for ref in self._refund_notes(order_id):
                if ref["id"] not in seen:
                    refunds.append(self._refund_node(ref["id"]))
        return [self._refund_record(r, order_id) for r in refunds]

    def _refund_notes(self, order_id: str) -> list[Mapping[str, Any]]:
        node = self._node("OrderRefundNotes", {"id": gid("Order", order_id)}, f"order {order_id}")
        return list(node.get("refunds") or [])

    def _refund_node(self, refund_gid: str) -> Mapping[str, Any]:
        refund = self._node("RefundFetch", {"id": refund_gid}, f"refund {refund_gid}")
        return refund

    def _refund_record(self, refund: Mapping[str, Any], order_id: str) -> RefundRecord:
        lines = self._rest_of(
            refund["refundLineItems"], "RefundLineItems", refund["id"], ("refund", "refundLineItems")
        )
        return refund_from_graphql({**refund, "refundLineItems": {"nodes": lines}}, legacy_id(order_id))

    def find_refund(self, order_id: str, effect_key: str) -> RefundRecord | None:
        """The refund whose note carries ``effect_key``'s marker, reading every refund's note."""
        marker = effect_marker(effect_key)
        for ref in self._refund_notes(order_id):
            if marker in (ref.get("note") or ""):
                return self._refund_record(self._refund_node(ref["id"]), order_id)
        return None

    def _refund_input(self, request: RefundRequest) -> dict[str, Any]:
        order_gid = gid("Order", request.order_id)
        node = self._order_node(request.order_id)
        currency = node["presentmentCurrencyCode"]
        if request.amount.currency != currency:
            raise RejectedByPlatform(
                f"refund in {request.amount.currency} for order {request.order_id} paid in {currency}",
                code="CURRENCY",
            )
        shipped_from: dict[str, str] = {}
        for f in self._fulfillments(order_gid):
            if f.get("status") == "SUCCESS" and f.get("location"):
                for item in f["fulfillmentLineItems"]["nodes"]:
                    shipped_from.setdefault(legacy_id(item["lineItem"]["id"]), f["location"]["id"])
        refund_lines = []
        for line in request.lines:
            if line.quantity == 0:
                continue
            entry: dict[str, Any] = {
                "lineItemId": gid("LineItem", line.line_item_id),
                "quantity": line.quantity,
            }
            if not line.restock:
                entry["restockType"] = "NO_RESTOCK"
            elif line.line_item_id in shipped_from:
                # Goods came back to where they were shipped from.
                entry["restockType"] = "RETURN"
                entry["locationId"] = shipped_from[line.line_item_id]
            else:
                entry["restockType"] = "CANCEL"  # never shipped: back into stock as cancelled
            refund_lines.append(entry)
        transactions = []
        if request.move_money and not request.amount.is_zero():
            left = request.amount.amount
            captures = refundable_by_capture(node.get("transactions") or [])
            available = sum((amount for _, amount in captures), Decimal(0))
            if available < left:
                raise RejectedByPlatform(
                    f"refund of {request.amount} exceeds what is left to refund on order {request.order_id}'s "
                    f"payments ({available} {currency})",
                    code="OVER_REFUND",
                )
            for tx, refundable in captures:
                part = min(left, refundable)
                transactions.append(
                    {
                        "orderId": order_gid,
                        "parentId": tx["id"],
                        "gateway": tx["gateway"],
                        "kind": "REFUND",
                        "amount": str(part),
                    }
                )
                left -= part
                if left == 0:
                    break
        payload: dict[str, Any] = {
            "orderId": order_gid,
            "currency": currency,
            "note": refund_note(request.reason, request.effect_key),
            "notify": request.notify_customer,
            "refundLineItems": refund_lines,
            "transactions": transactions,
        }
        if request.shipping is not None and not request.shipping.is_zero():
            payload["shipping"] = {"amount": str(request.shipping.amount)}
        return payload

    def create_refund(self, request: RefundRequest) -> RefundRecord:
        """``refundCreate @idempotent(key:)``; a lost response is re-sent with the same key.

        When every re-send is lost too, the order's refunds are read once: a refund carrying
        the effect marker means it happened (returned); otherwise :class:`OutcomeUnknown`.
        """
        variables = {"input": self._refund_input(request), "key": idempotency_key(request.effect_key)}
        try:
            data = self.api.execute(load("RefundCreate"), variables, idempotent=True)
        except OutcomeUnknown:
            try:
                found = self.find_refund(request.order_id, request.effect_key)
            except PlatformError:
                found = None
            if found is not None:
                return found
            raise
        payload = data.get("refundCreate") or {}
        _raise_user_errors("refundCreate", payload)
        refund = payload.get("refund")
        if refund is None:
            raise PlatformError("refundCreate returned neither a refund nor userErrors")
        return self._refund_record(refund, request.order_id)

    # -- notes ------------------------------------------------------------------------------------

    def add_note(self, order_id: str, text: str, *, customer_visible: bool) -> None:
        """Append ``text`` to the order's note (once: a retry finds it there and stops).

        Shopify's order note is staff-facing; the Admin API has no customer-visible order
        comment, so ``customer_visible`` cannot be honoured here — customers are told through
        the notification channels instead.
        """
        node = self._node("OrderNote", {"id": gid("Order", order_id)}, f"order {order_id}")
        current = node.get("note") or ""
        if text.strip() and text.strip() in current:
            return
        note = f"{current.rstrip()}\n{text}" if current.strip() else text
        data = self.api.execute(load("OrderNoteUpdate"), {"input": {"id": node["id"], "note": note}})
        _raise_user_errors("orderUpdate", data.get("orderUpdate") or {})

    # -- stock ------------------------------------------------------------------------------------

    @staticmethod
    def _level(v: Mapping[str, Any]) -> StockLevel:
        tracked = bool((v.get("inventoryItem") or {}).get("tracked"))
        quantity = v.get("inventoryQuantity")
        available = int(quantity) if tracked and quantity is not None else None
        in_stock = (not tracked) or (available or 0) > 0 or v.get("inventoryPolicy") == "CONTINUE"
        return StockLevel(
            product_id=legacy_id(v["product"]["id"]),
            variant_id=legacy_id(v["id"]),
            sku=v.get("sku") or None,
            available=available,
            in_stock=in_stock,
        )

    def read_stock(self, product_id: str, variant_id: str | None) -> StockLevel:
        if variant_id is not None:
            v = self._node("VariantStock", {"id": gid("ProductVariant", variant_id)}, f"variant {variant_id}")
            return self._level(v)
        product = self._node("ProductStock", {"id": gid("Product", product_id)}, f"product {product_id}")
        levels = [self._level(v) for v in product["variants"]["nodes"]]
        counted = [lv.available for lv in levels if lv.available is not None]
        return StockLevel(
            product_id=legacy_id(product["id"]),
            variant_id=None,
            available=sum(counted) if counted else None,
            in_stock=any(lv.in_stock for lv in levels),
        )

    def list_stock_changed_since(self, since: datetime) -> Iterator[StockLevel]:
        for v in self._pages(
            "VariantsChangedSince", {"query": _since_query("updated_at", since)}, ("productVariants",)
        ):
            yield self._level(v)

    # -- returns ----------------------------------------------------------------------------------

    def _return(self, return_id: str) -> Mapping[str, Any]:
        node = self._node("ReturnFetch", {"id": gid("Return", return_id)}, f"return {return_id}")
        return node

    def platform_action(self, action: str, params: Mapping[str, Any], effect_key: str) -> dict[str, Any]:
        """``return.approve|decline|close|process`` (see README for the parameters)."""
        handlers = {
            "return.approve": self._approve,
            "return.decline": self._decline,
            "return.close": self._close,
            "return.process": self._process,
        }
        handler = handlers.get(action)
        if handler is None:
            raise RejectedByPlatform(
                f"Shopify has no platform action {action!r}; known: {', '.join(handlers)}",
                code="UNKNOWN_ACTION",
            )
        if not params.get("return_id"):
            raise RejectedByPlatform(f"{action} needs params['return_id']", code="BLANK")
        return_id = exact_id(params["return_id"], "return_id")
        return handler(return_id, params)

    @staticmethod
    def _outcome(action: str, node: Mapping[str, Any], already: bool) -> dict[str, Any]:
        return {
            "action": action,
            "return_id": legacy_id(node["id"]),
            "status": node["status"],
            "already_done": already,
        }

    def _transition(
        self,
        action: str,
        return_id: str,
        *,
        wanted: str,
        from_status: str,
        document: str,
        variables: Mapping[str, Any],
    ) -> dict[str, Any]:
        current = self._return(return_id)
        if current["status"] == wanted:
            return self._outcome(action, current, True)
        if current["status"] != from_status:
            raise RejectedByPlatform(
                f"{action}: return {return_id} is {current['status']}, expected {from_status}",
                code="INVALID_STATE",
            )
        doc = load(document)
        payload = self.api.execute(doc, variables)[doc.root_field] or {}
        _raise_user_errors(doc.root_field, payload)
        return self._outcome(action, payload["return"], False)

    def _approve(self, return_id: str, params: Mapping[str, Any]) -> dict[str, Any]:
        variables = {
            "input": {
                "id": gid("Return", return_id),
                "notifyCustomer": bool(params.get("notify_customer", True)),
            }
        }
        return self._transition(
            "return.approve",
            return_id,
            wanted="OPEN",
            from_status="REQUESTED",
            document="ReturnApproveRequest",
            variables=variables,
        )

    def _decline(self, return_id: str, params: Mapping[str, Any]) -> dict[str, Any]:
        reason = str(params.get("reason") or "OTHER").upper()
        if reason not in DECLINE_REASONS:
            raise RejectedByPlatform(
                f"return.decline: reason must be one of {', '.join(DECLINE_REASONS)}, not {reason!r}",
                code="INCLUSION",
            )
        decline: dict[str, Any] = {
            "id": gid("Return", return_id),
            "declineReason": reason,
            "notifyCustomer": bool(params.get("notify_customer", True)),
        }
        if params.get("note"):
            decline["declineNote"] = str(params["note"])[:500]  # Shopify's limit for the note
        return self._transition(
            "return.decline",
            return_id,
            wanted="DECLINED",
            from_status="REQUESTED",
            document="ReturnDeclineRequest",
            variables={"input": decline},
        )

    def _close(self, return_id: str, params: Mapping[str, Any]) -> dict[str, Any]:
        return self._transition(
            "return.close",
            return_id,
            wanted="CLOSED",
            from_status="OPEN",
            document="ReturnClose",
            variables={"id": gid("Return", return_id)},
        )

    def _process(self, return_id: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """Mark returned units processed, at most what is still unprocessed on each line.

        ``params["lines"]``: ``[{"id": return line item id, "quantity": n, "disposition":
        "RESTOCKED"|..., "location_id": ...}]``; without lines, every unprocessed unit. Clamping
        to the unprocessed quantity is what makes a retry after a lost response harmless.
        """
        current = self._return(return_id)
        if current["status"] != "OPEN":
            raise RejectedByPlatform(
                f"return.process: return {return_id} is {current['status']}, expected OPEN",
                code="INVALID_STATE",
            )
        unprocessed = {
            legacy_id(n["id"]): int(n["unprocessedQuantity"]) for n in current["returnLineItems"]["nodes"]
        }
        wanted = params.get("lines") or [{"id": k, "quantity": v} for k, v in unprocessed.items()]
        lines = []
        for raw in wanted:
            line_id = exact_id(raw.get("id"), "lines[].id")
            if line_id not in unprocessed:
                raise RejectedByPlatform(
                    f"return.process: line {line_id} is not part of return {return_id}", code="NOT_FOUND"
                )
            quantity = min(int(raw.get("quantity", unprocessed[line_id])), unprocessed[line_id])
            if quantity <= 0:
                continue
            entry: dict[str, Any] = {"id": gid("ReturnLineItem", line_id), "quantity": quantity}
            disposition = str(raw.get("disposition") or "").upper()
            if disposition:
                if disposition not in DISPOSITIONS:
                    raise RejectedByPlatform(
                        f"return.process: disposition must be one of {', '.join(DISPOSITIONS)}",
                        code="INCLUSION",
                    )
                if not raw.get(
                    "rfo_line_item_id"
                ):  # Shopify disposes units on the reverse fulfillment order line
                    raise RejectedByPlatform(
                        "return.process: a disposition needs the line's rfo_line_item_id", code="BLANK"
                    )
                dispose: dict[str, Any] = {
                    "reverseFulfillmentOrderLineItemId": gid(
                        "ReverseFulfillmentOrderLineItem", raw["rfo_line_item_id"]
                    ),
                    "quantity": quantity,
                    "dispositionType": disposition,
                }
                if raw.get("location_id"):
                    dispose["locationId"] = gid("Location", raw["location_id"])
                entry["dispositions"] = [dispose]
            lines.append(entry)
        if not lines:
            return self._outcome("return.process", current, True)
        doc = load("ReturnProcess")
        variables = {
            "input": {
                "returnId": gid("Return", return_id),
                "returnLineItems": lines,
                "notifyCustomer": bool(params.get("notify_customer", False)),
            }
        }
        payload = self.api.execute(doc, variables)["returnProcess"] or {}
        _raise_user_errors("returnProcess", payload)
        return self._outcome("return.process", payload["return"], False)

    # -- webhooks ---------------------------------------------------------------------------------

    def ensure_webhooks(self, address: str) -> list[dict[str, Any]]:
        """Subscribe every handled topic to ``address``: create, re-point or leave as is.

        Subscriptions are per app, so an existing one for a topic is ours: when its address
        differs it is updated rather than duplicated (two subscriptions would deliver twice).
        """
        existing: dict[str, list[Mapping[str, Any]]] = {}
        for sub in self._pages("WebhookSubscriptions", {}, ("webhookSubscriptions",)):
            existing.setdefault(sub["topic"], []).append(sub)
        results = []
        for topic in TOPICS.values():
            subs = existing.get(topic.graphql_enum, [])
            same = next((s for s in subs if s.get("uri") == address), None)
            if same is not None:
                results.append({"topic": topic.name, "id": legacy_id(same["id"]), "action": "unchanged"})
                continue
            if subs:
                doc = load("WebhookSubscriptionUpdate")
                variables: dict[str, Any] = {
                    "id": subs[0]["id"],
                    "subscription": {"uri": address, "format": "JSON"},
                }
                action = "updated"
            else:
                doc = load("WebhookSubscriptionCreate")
                variables = {"topic": topic.graphql_enum, "subscription": {"uri": address, "format": "JSON"}}
                action = "created"
            payload = self.api.execute(doc, variables)[doc.root_field] or {}
            _raise_user_errors(doc.root_field, payload)
            results.append(
                {"topic": topic.name, "id": legacy_id(payload["webhookSubscription"]["id"]), "action": action}
            )
        return results
