"""``aftersales refund quote``: preview what a refund would pay, and why, before any money moves.

The order comes as the platform's own JSON (what its API or webhook returns) and is read through
the platform plugin's normalizer, so the preview prices exactly the order the engine would see.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from aftersales.cli._common import fail, print_json
from aftersales.decisions import Deduction, DeductionKind
from aftersales.domain import CaseType, Money, Order, OrderData
from aftersales.money import QuoteError, ReturnShippingTerms, quote_refund
from aftersales.platforms import MalformedPayload, PlatformAdapter, UnknownTopic
from aftersales.plugins import PluginError, load_plugins

ORDER_TOPICS = {"woocommerce": "order.created", "shopify": "orders/create"}
"""The webhook topic whose body is a whole order, per platform (the REST order JSON for WooCommerce)."""

app = typer.Typer(help="Price refunds.", no_args_is_help=True)


class CliInputError(ValueError):
    """A malformed command-line value; the message is the one line shown to the user."""


def parse_lines(values: list[str]) -> dict[str, int]:
    """``ID:QTY`` pairs → {line id: quantity}. The id may itself contain colons (Shopify GIDs)."""
    result: dict[str, int] = {}
    for value in values:
        line_id, sep, qty = value.rpartition(":")
        if not sep or not line_id.strip() or not qty.strip():
            raise CliInputError(f"--line {value!r}: expected LINE_ID:QUANTITY, e.g. 315:2")
        try:
            n = int(qty.strip())
        except ValueError:
            raise CliInputError(f"--line {value!r}: the quantity {qty!r} is not a whole number") from None
        key = line_id.strip()
        if key in result:
            raise CliInputError(f"--line {key} is given twice; give each line once with its total quantity")
        result[key] = n
    return result


def parse_deductions(values: list[str], currency: str) -> list[Deduction]:
    """``KIND:AMOUNT:REASON`` → deductions in the order's currency (the reason may contain colons)."""
    kinds = ", ".join(k.value for k in DeductionKind)
    result: list[Deduction] = []
    for value in values:
        parts = value.split(":", 2)
        if len(parts) != 3:
            raise CliInputError(
                f"--deduction {value!r}: expected KIND:AMOUNT:REASON, e.g. return_shipping:15.00:label"
            )
        kind, amount, reason = (p.strip() for p in parts)
        try:
            deduction_kind = DeductionKind(kind)
        except ValueError:
            raise CliInputError(
                f"--deduction {value!r}: unknown kind {kind!r} (expected one of: {kinds})"
            ) from None
        result.append(
            Deduction(kind=deduction_kind, amount=parse_money(amount, currency, "--deduction"), reason=reason)
        )
    return result


def parse_money(value: str, currency: str, option: str) -> Money:
    try:
        return Money(value, currency)
    except ValidationError as exc:
        detail = exc.errors()[0].get("msg", str(exc)) if exc.errors() else str(exc)
        raise CliInputError(f"{option} {value!r}: {detail}") from None


def _order_topic(platform: str, adapter: PlatformAdapter) -> str:
    if platform in ORDER_TOPICS:
        return ORDER_TOPICS[platform]
    for topic in adapter.topics():
        low = topic.lower()
        if "order" in low and "creat" in low:
            return topic
    raise CliInputError(f"platform {platform!r} has no order-created topic to read an order with")


def load_order(platform: str, path: Path) -> Order:
    """Read the platform's order JSON at ``path`` and normalize it with the platform plugin."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CliInputError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        payload: Any = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CliInputError(f"{path}: not valid JSON: {exc}") from None
    try:
        adapter = load_plugins().platform(platform)
    except PluginError as exc:
        raise CliInputError(str(exc)) from None
    topic = _order_topic(platform, adapter)
    try:
        event = adapter.normalize(topic, payload)
    except (UnknownTopic, MalformedPayload, ValidationError) as exc:
        raise CliInputError(f"{path}: not a {platform} order: {exc}".splitlines()[0]) from None
    if not isinstance(event.data, OrderData):
        raise CliInputError(f"{path}: the {platform} normalizer did not produce an order from {topic}")
    return event.data.order


@app.command()
def quote(
    platform: Annotated[str, typer.Option("--platform", help="shopify | woocommerce | ...")],
    order_file: Annotated[Path, typer.Option("--order", help="The platform's order JSON.")],
    line: Annotated[
        list[str] | None, typer.Option("--line", help="LINE_ID:QUANTITY to refund; repeat for more lines.")
    ] = None,
    withdrawal: Annotated[
        bool, typer.Option("--withdrawal", help="A statutory withdrawal (same as --type withdrawal).")
    ] = False,
    case_type: Annotated[
        str | None,
        typer.Option(
            "--type", help="withdrawal | return | goodwill | complaint | warranty | guarantee_payout."
        ),
    ] = None,
    deduction: Annotated[
        list[str] | None,
        typer.Option(
            "--deduction", help="KIND:AMOUNT:REASON (return_shipping, restocking_fee, diminished_value)."
        ),
    ] = None,
    jurisdiction: Annotated[str, typer.Option("--jurisdiction", help="Whose law decides deductions.")] = "PL",
    amount: Annotated[
        str | None, typer.Option("--amount", help="An amount not tied to units (goodwill, guarantee payout).")
    ] = None,
    customer_pays_return_shipping: Annotated[
        bool,
        typer.Option(
            "--customer-pays-return-shipping", help="The policy puts return shipping on the customer."
        ),
    ] = False,
    prepaid_label: Annotated[
        bool, typer.Option("--prepaid-label", help="The customer got the shop's prepaid return label.")
    ] = False,
    standard_delivery: Annotated[
        str | None,
        typer.Option(
            "--standard-delivery-price", help="The shop's cheapest standard delivery (caps express)."
        ),
    ] = None,
) -> None:
    """Print the refund for the given lines of an order as JSON (total, lines, delivery, deductions, trace)."""
    if withdrawal and case_type is not None and case_type != CaseType.WITHDRAWAL.value:
        fail(f"--withdrawal and --type {case_type} contradict each other; give one")
    kind = CaseType.WITHDRAWAL.value if withdrawal else (case_type or CaseType.RETURN.value)
    try:
        lines = parse_lines(line or [])
        order = load_order(platform, order_file)
        deductions = parse_deductions(deduction or [], order.currency)
        compensation = parse_money(amount, order.currency, "--amount") if amount is not None else None
        standard = (
            parse_money(standard_delivery, order.currency, "--standard-delivery-price")
            if standard_delivery is not None
            else None
        )
        result = quote_refund(
            order,
            lines,
            kind,
            jurisdiction=jurisdiction,
            deductions=deductions,
            compensation=compensation,
            return_shipping=ReturnShippingTerms(
                customer_pays=customer_pays_return_shipping, prepaid_label=prepaid_label
            ),
            standard_delivery_price=standard,
        )
    except (CliInputError, QuoteError) as exc:
        fail(str(exc))
    print_json(result.to_json())


def register(root: typer.Typer) -> None:
    """Add ``aftersales refund ...`` to the root app."""
    root.add_typer(app, name="refund")
