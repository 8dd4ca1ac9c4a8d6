"""Reading Shopify values exactly: ids, GIDs, money and timestamps.

Shopify ids are 64-bit integers (820982911946154508). Python's ``json`` keeps them exact as
``int``; anything that went through a float (JavaScript, some JSON tools) has lost its last
digits, so a float id is refused rather than silently rounded. Ids are kept as decimal strings
in the domain; the GraphQL API wants GIDs (``gid://shopify/Order/820982911946154508``), which
:func:`gid` builds and :func:`legacy_id` reads back.

Amounts are strings in Shopify's JSON ("89.99") except a few legacy REST fields that are JSON
numbers (``refund_line_items[].subtotal``); those are only read when no ``*_set`` string exists,
through ``repr`` (the shortest round-tripping text of the float, "89.99"), never ``Decimal(float)``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from aftersales.domain import Money
from aftersales.platforms import MalformedPayload

_GID = re.compile(r"^gid://shopify/(?P<kind>[A-Za-z]+)/(?P<id>\d+)(?:\?.*)?$")


def gid(kind: str, value: str | int) -> str:
    """The GraphQL id of ``kind`` for a numeric id or an existing GID (returned unchanged)."""
    text = str(value)
    if text.startswith("gid://"):
        return text
    if not text.isdigit():
        raise ValueError(f"not a Shopify {kind} id: {value!r}")
    return f"gid://shopify/{kind}/{text}"


def legacy_id(value: str) -> str:
    """The numeric id inside a GID (``gid://shopify/Order/123`` → ``"123"``); digits pass through."""
    match = _GID.match(value)
    if match:
        return match.group("id")
    if value.isdigit():
        return value
    raise ValueError(f"not a Shopify id or GID: {value!r}")


def obj(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise MalformedPayload(f"{where} must be a JSON object, got {type(value).__name__}")
    return value


def nested(parent: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    """``parent[key]`` when it is an object, else an empty one (optional sub-objects)."""
    value = parent.get(key)
    return value if isinstance(value, Mapping) else {}


def items(value: Any, where: str) -> Sequence[Any]:
    """A JSON array; a missing/null one is empty."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise MalformedPayload(f"{where} must be a JSON array, got {type(value).__name__}")
    return value


def exact_id(value: Any, where: str) -> str:
    """A Shopify id from JSON: an int, a digit string or a GID, as the exact decimal string."""
    if isinstance(value, bool) or value is None:
        raise MalformedPayload(f"{where} is missing or not an id (got {value!r})")
    if isinstance(value, float):
        raise MalformedPayload(
            f"{where} is a floating-point number ({value!r}): 64-bit ids lose digits as floats; "
            "send the JSON exactly as Shopify signed it"
        )
    if isinstance(value, int):
        if value < 0:
            raise MalformedPayload(f"{where} must not be negative (got {value})")
        return str(value)
    if isinstance(value, str):
        try:
            return legacy_id(value.strip())
        except ValueError:
            raise MalformedPayload(f"{where} is not a Shopify id: {value!r}") from None
    raise MalformedPayload(f"{where} is not an id (got {type(value).__name__})")


def optional_id(value: Any, where: str) -> str | None:
    return None if value is None else exact_id(value, where)


def required(payload: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in payload or payload[key] is None:
        raise MalformedPayload(f"{where} has no {key!r}")
    return payload[key]


def resource_id(payload: Mapping[str, Any], where: str) -> str:
    """``id``, or the GID in ``admin_graphql_api_id`` when a payload only carries that."""
    if payload.get("id") is not None:
        return exact_id(payload["id"], f"{where}.id")
    if payload.get("admin_graphql_api_id") is not None:
        return exact_id(payload["admin_graphql_api_id"], f"{where}.admin_graphql_api_id")
    raise MalformedPayload(f"{where} has neither 'id' nor 'admin_graphql_api_id'")


def timestamp(value: Any, where: str) -> datetime | None:
    """An ISO 8601 time with offset; None/"" → None; a time without offset is an error."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise MalformedPayload(f"{where} must be an ISO 8601 string, got {type(value).__name__}")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise MalformedPayload(f"{where} is not an ISO 8601 time: {value!r}") from None
    if parsed.tzinfo is None:
        raise MalformedPayload(f"{where} has no UTC offset: {value!r}")
    return parsed


def decimal(value: Any, where: str) -> Decimal:
    if isinstance(value, bool) or value is None:
        raise MalformedPayload(f"{where} is not an amount (got {value!r})")
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, int | Decimal):
        return Decimal(value)
    if isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except ArithmeticError:
            raise MalformedPayload(f"{where} is not a decimal amount: {value!r}") from None
        if not result.is_finite():
            raise MalformedPayload(f"{where} is not a finite amount: {value!r}")
        return result
    raise MalformedPayload(f"{where} is not an amount (got {type(value).__name__})")


def money(value: Any, currency: str, where: str) -> Money:
    """Exact money ("10.0" USD is 10.00; "1.005" USD is an error, never silently rounded)."""
    amount = decimal(value, where)
    try:
        return Money(amount, currency)
    except ValueError as exc:
        raise MalformedPayload(f"{where}: {exc}") from None


def rest_money_set(bag: Any, where: str) -> Money:
    """A REST ``*_set`` bag (``presentment_money`` preferred: the customer's currency)."""
    bag = obj(bag, where)
    side = bag.get("presentment_money") or bag.get("shop_money")
    side = obj(side, f"{where}.presentment_money")
    currency = required(side, "currency_code", f"{where}.presentment_money")
    return money(required(side, "amount", f"{where}.presentment_money"), str(currency), where)


def gql_money(bag: Any, where: str) -> Money:
    """A GraphQL ``MoneyBag`` selected with the ``Money`` fragment (presentment money)."""
    bag = obj(bag, where)
    side = obj(bag.get("presentmentMoney"), f"{where}.presentmentMoney")
    return money(side.get("amount"), str(side.get("currencyCode")), where)
