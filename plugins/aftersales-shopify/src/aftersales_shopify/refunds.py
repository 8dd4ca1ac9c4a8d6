"""Refunds: how our effect key travels with a Shopify refund, and refund records in both shapes.

Where the effect key lives: a Shopify ``Refund`` has no metafields or custom attributes, only a
free-text ``note``. We append a marker ``[aftersales:<effect key>]`` to the note. It survives
forever (unlike ``@idempotent``, whose keys Shopify keeps for a limited time), it is visible in
the shop admin next to the refund (a merchant sees which case paid it), and ``find_refund``
finds it by reading the order's refunds after a crash. Keys with characters that would break
the marker (``]`` or line breaks) are carried as their SHA-256 instead.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from aftersales.domain import Money, RefundRecord
from aftersales.platforms import MalformedPayload
from aftersales_shopify._values import (
    exact_id,
    gql_money,
    items,
    money,
    obj,
    rest_money_set,
    timestamp,
)

_MARKER = re.compile(r"\[aftersales:(?P<key>[^\]\n]+)\]")
_UNSAFE = re.compile(r"[\]\n\r]")


def effect_marker(effect_key: str) -> str:
    """The text put into a refund's note so the refund can be found by its effect key."""
    if not effect_key:
        raise ValueError("an effect key must not be empty")
    if _UNSAFE.search(effect_key):
        return f"[aftersales:sha256={hashlib.sha256(effect_key.encode()).hexdigest()}]"
    return f"[aftersales:{effect_key}]"


def refund_note(reason: str, effect_key: str) -> str:
    marker = effect_marker(effect_key)
    reason = reason.strip()
    return f"{reason} {marker}" if reason else marker


def effect_key_from_note(note: str | None) -> str | None:
    """The effect key a note carries (None for refunds made in the admin or hashed keys)."""
    if not note:
        return None
    match = _MARKER.search(note)
    if match is None or match.group("key").startswith("sha256="):
        return None
    return match.group("key")


def idempotency_key(effect_key: str) -> str:
    """The ``@idempotent(key:)`` value: the effect key itself when short, else its SHA-256.

    Shopify recommends UUIDs (36 characters); long composite keys are hashed so they stay well
    inside any length limit while remaining one-to-one with the effect.
    """
    if len(effect_key) <= 64 and not _UNSAFE.search(effect_key):
        return effect_key
    return hashlib.sha256(effect_key.encode()).hexdigest()


def _reason(note: str | None) -> str | None:
    if not note:
        return None
    cleaned = _MARKER.sub("", note).strip()
    return cleaned or None


def refund_from_webhook(payload: Mapping[str, Any], *, currency: str | None = None) -> RefundRecord:
    """A REST/webhook refund (``refunds/create`` body or an element of an order's ``refunds``).

    The amount is what moved back to the customer: the successful ``refund`` transactions. Line
    subtotals say what was refunded *for*, not what was paid (shipping, adjustments, fees differ).
    """
    where = "refund"
    refund_id = exact_id(payload.get("id"), f"{where}.id")
    order_id = exact_id(payload.get("order_id"), f"{where}.order_id")
    lines = items(payload.get("refund_line_items"), f"{where}.refund_line_items")
    transactions = items(payload.get("transactions"), f"{where}.transactions")
    currency = currency or _refund_currency(payload, lines, transactions)
    total = Money.zero(currency)
    for i, raw in enumerate(transactions):
        tx = obj(raw, f"{where}.transactions[{i}]")
        if tx.get("kind") == "refund" and tx.get("status") == "success":
            total = total + money(tx.get("amount"), currency, f"{where}.transactions[{i}].amount")
    quantities: dict[str, int] = {}
    for i, raw in enumerate(lines):
        line = obj(raw, f"{where}.refund_line_items[{i}]")
        line_id = exact_id(line.get("line_item_id"), f"{where}.refund_line_items[{i}].line_item_id")
        quantities[line_id] = quantities.get(line_id, 0) + _quantity(line.get("quantity"), i)
    note = payload.get("note")
    return RefundRecord(
        id=refund_id,
        order_id=order_id,
        amount=total,
        created_at=timestamp(payload.get("created_at"), f"{where}.created_at"),
        reason=_reason(note if isinstance(note, str) else None),
        effect_key=effect_key_from_note(note if isinstance(note, str) else None),
        line_quantities=quantities,
    )


def _quantity(value: Any, i: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise MalformedPayload(
            f"refund.refund_line_items[{i}].quantity must be a whole number, got {value!r}"
        )
    return value


def _refund_currency(payload: Mapping[str, Any], lines: Any, transactions: Any) -> str:
    """The refund's currency: a money set's currency code, else a transaction's currency."""
    for line in lines:
        if isinstance(line, Mapping) and isinstance(line.get("subtotal_set"), Mapping):
            return rest_money_set(line["subtotal_set"], "refund.refund_line_items[].subtotal_set").currency
    for key in ("total_duties_set",):
        if isinstance(payload.get(key), Mapping):
            return rest_money_set(payload[key], f"refund.{key}").currency
    for tx in transactions:
        if isinstance(tx, Mapping) and isinstance(tx.get("currency"), str):
            return str(tx["currency"])
    raise MalformedPayload("refund has no currency: no money set and no transaction currency")


def refund_from_graphql(node: Mapping[str, Any], order_id: str) -> RefundRecord:
    """A ``Refund`` selected with the ``RefundFields`` fragment (line items already paged in)."""
    note = node.get("note")
    quantities: dict[str, int] = {}
    for line in node.get("refundLineItems", {}).get("nodes", []):
        line_id = exact_id(line["lineItem"]["id"], "refundLineItems.lineItem.id")
        quantities[line_id] = quantities.get(line_id, 0) + int(line["quantity"])
    return RefundRecord(
        id=exact_id(node["id"], "refund.id"),
        order_id=order_id,
        amount=gql_money(node["totalRefundedSet"], "refund.totalRefundedSet"),
        created_at=timestamp(node.get("createdAt"), "refund.createdAt"),
        reason=_reason(note),
        effect_key=effect_key_from_note(note),
        line_quantities=quantities,
    )


def refundable_by_capture(transactions: list[Mapping[str, Any]]) -> list[tuple[Mapping[str, Any], Decimal]]:
    """Each successful SALE/CAPTURE transaction with what is still refundable on it.

    Shopify refunds money against the payment that took it (``parentId``); a refund transaction
    larger than what is left on its parent is rejected, so the amount is spread over captures.
    """
    refunded: dict[str, Decimal] = {}
    for tx in transactions:
        if tx.get("kind") == "REFUND" and tx.get("status") == "SUCCESS" and tx.get("parentTransaction"):
            parent = tx["parentTransaction"]["id"]
            refunded[parent] = refunded.get(parent, Decimal(0)) + Decimal(
                tx["amountSet"]["presentmentMoney"]["amount"]
            )
    result = []
    for tx in transactions:
        if tx.get("kind") in ("SALE", "CAPTURE") and tx.get("status") == "SUCCESS":
            left = Decimal(tx["amountSet"]["presentmentMoney"]["amount"]) - refunded.get(tx["id"], Decimal(0))
            if left > 0:
                result.append((tx, left))
    return result
