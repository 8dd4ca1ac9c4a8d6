"""Money: exact, one currency at a time, split without losing or inventing a cent."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from aftersales.domain import CurrencyMismatch, Money, allocate, total


def test_floats_are_refused_with_a_hint() -> None:
    with pytest.raises(ValidationError, match="float amounts are not accepted"):
        Money(19.99, "PLN")


def test_an_unknown_currency_is_refused() -> None:
    with pytest.raises(ValidationError, match="unknown currency 'ZZZ'"):
        Money("1.00", "ZZZ")


def test_more_digits_than_the_currency_has_is_an_error_but_trailing_zeros_are_fine() -> None:
    with pytest.raises(ValidationError, match="more decimal places than PLN allows"):
        Money("1.005", "PLN")
    assert Money("10.000000", "usd") == Money("10.00", "USD")
    assert Money("5", "JPY").minor == 5
    with pytest.raises(ValidationError):
        Money("5.5", "JPY")


def test_rounding_is_explicit_and_half_up() -> None:
    assert Money.rounded("1.005", "PLN") == Money("1.01", "PLN")
    assert Money.rounded("2.5", "JPY") == Money("3", "JPY")


def test_mixed_currencies_never_add_up() -> None:
    with pytest.raises(CurrencyMismatch):
        _ = Money("1.00", "PLN") + Money("1.00", "EUR")
    with pytest.raises(CurrencyMismatch):
        _ = Money("1.00", "PLN") < Money("1.00", "EUR")


def test_a_ten_zloty_discount_over_three_lines_is_3_34_3_33_3_33() -> None:
    parts = allocate(Money("10.00", "PLN"), [1, 1, 1])
    assert [p.amount for p in parts] == [Decimal("3.34"), Decimal("3.33"), Decimal("3.33")]


def test_json_keeps_the_amount_as_a_string() -> None:
    assert Money("12.30", "PLN").model_dump(mode="json") == {"amount": "12.30", "currency": "PLN"}


amounts = st.integers(min_value=-10_000_000, max_value=10_000_000)
weights = st.lists(st.integers(min_value=0, max_value=1000), min_size=1, max_size=12)


@given(minor=amounts, ws=weights, currency=st.sampled_from(["PLN", "EUR", "JPY", "KWD"]))
def test_allocated_parts_always_add_up_to_the_whole(minor: int, ws: list[int], currency: str) -> None:
    whole = Money.from_minor(minor, currency)
    parts = allocate(whole, ws)
    assert total(parts, currency) == whole
    assert len(parts) == len(ws)


@given(minor=st.integers(min_value=0, max_value=10_000_000), ws=weights)
def test_no_part_is_more_than_one_minor_unit_away_from_its_exact_share(minor: int, ws: list[int]) -> None:
    whole = Money.from_minor(minor, "PLN")
    parts = allocate(whole, ws)
    weight_sum = sum(ws) or len(ws)
    for part, w in zip(parts, ws or [1], strict=True):
        exact = Decimal(minor) * Decimal(w if sum(ws) else 1) / Decimal(weight_sum)
        assert abs(Decimal(part.minor) - exact) < 1
