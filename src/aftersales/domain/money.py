"""Money as ``Decimal`` + ISO 4217 currency.

Why not floats: a refund of 0.1 + 0.2 must be 0.30, not 0.30000000000000004, and a
platform id or an amount must round-trip exactly. Why Babel: the number of minor units
differs per currency (PLN 2, JPY 0, KWD 3) and Babel ships the CLDR table.

Invariants:
- ``amount`` never carries more digits than the currency's minor unit (``Money("1.005", "PLN")``
  is an error, ``Money("10.000000", "USD")`` is fine: it is exactly 10.00);
- arithmetic refuses mixed currencies;
- splitting money (prorating a discount, a refund over units) goes through :func:`allocate`,
  which hands out whole minor units so the parts always add up to the whole.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from babel.numbers import get_currency_precision, list_currencies
from pydantic import BaseModel, ConfigDict, field_validator, model_validator


class CurrencyMismatch(ValueError):
    """Two amounts in different currencies were combined."""


@lru_cache(maxsize=1)
def _known_currencies() -> frozenset[str]:
    return frozenset(list_currencies())


@lru_cache(maxsize=512)
def minor_units(currency: str) -> int:
    """Digits after the decimal point for ``currency`` (CLDR data via Babel)."""
    return int(get_currency_precision(currency))


def quantum(currency: str) -> Decimal:
    """The smallest amount of ``currency`` (Decimal('0.01') for PLN)."""
    return Decimal(1).scaleb(-minor_units(currency))


def to_decimal(value: object) -> Decimal:
    """Convert str/int/Decimal to Decimal; floats are refused (they are not exact)."""
    if isinstance(value, bool):
        raise TypeError("a boolean is not an amount")
    if isinstance(value, float):
        raise TypeError(f"float amounts are not accepted (got {value!r}); pass a string such as '12.34'")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"not a decimal amount: {value!r}") from None
    else:
        raise TypeError(f"an amount must be a string, int or Decimal, not {type(value).__name__}")
    if not result.is_finite():
        raise ValueError(f"amount must be finite, got {value!r}")
    return result


class Money(BaseModel):
    """An exact amount of one currency, at most as precise as the currency's minor unit."""

    model_config = ConfigDict(frozen=True, strict=False)

    amount: Decimal
    currency: str

    def __init__(self, amount: object = None, currency: str | None = None, /, **data: Any) -> None:
        if amount is not None:
            data.setdefault("amount", amount)
        if currency is not None:
            data.setdefault("currency", currency)
        super().__init__(**data)

    @field_validator("amount", mode="before")
    @classmethod
    def _exact(cls, value: object) -> Decimal:
        try:
            return to_decimal(value)
        except TypeError as exc:  # pydantic reports ValueErrors as validation errors
            raise ValueError(str(exc)) from None

    @field_validator("currency", mode="before")
    @classmethod
    def _iso(cls, value: object) -> str:
        if not isinstance(value, str):
            raise TypeError("currency must be an ISO 4217 code such as 'PLN'")
        code = value.strip().upper()
        if code not in _known_currencies():
            raise ValueError(f"unknown currency {value!r}: expected an ISO 4217 code such as 'PLN' or 'EUR'")
        return code

    @model_validator(mode="after")
    def _minor_units(self) -> Money:
        q = quantum(self.currency)
        rounded = self.amount.quantize(q)
        if rounded != self.amount:
            raise ValueError(
                f"{self.amount} has more decimal places than {self.currency} allows "
                f"({minor_units(self.currency)}); round it explicitly with Money.rounded()"
            )
        object.__setattr__(self, "amount", rounded)
        return self

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(Decimal(0), currency)

    @classmethod
    def rounded(cls, amount: object, currency: str) -> Money:
        """Round ``amount`` half-up to the currency's minor unit (the commercial rule)."""
        value = to_decimal(amount).quantize(quantum(currency.upper()), rounding=ROUND_HALF_UP)
        return cls(value, currency)

    @classmethod
    def from_minor(cls, minor: int, currency: str) -> Money:
        return cls(Decimal(minor).scaleb(-minor_units(currency.upper())), currency)

    # -- views ----------------------------------------------------------------------------------
    @property
    def minor(self) -> int:
        """The amount in minor units (grosze, cents) as an exact int."""
        return int(self.amount.scaleb(minor_units(self.currency)))

    def is_zero(self) -> bool:
        return self.amount == 0

    def is_negative(self) -> bool:
        return self.amount < 0

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"

    def __repr__(self) -> str:
        return f"Money('{self.amount}', '{self.currency}')"

    def __hash__(self) -> int:
        return hash((self.amount, self.currency))

    # -- arithmetic -----------------------------------------------------------------------------
    def _same(self, other: object) -> Money:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise CurrencyMismatch(f"cannot combine {self.currency} with {other.currency}")
        return other

    def __add__(self, other: Money) -> Money:
        return Money(self.amount + self._same(other).amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        return Money(self.amount - self._same(other).amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __mul__(self, factor: int) -> Money:
        if not isinstance(factor, int) or isinstance(factor, bool):
            raise TypeError("Money can only be multiplied by an int; use allocate() to split it")
        return Money(self.amount * factor, self.currency)

    __rmul__ = __mul__

    def __lt__(self, other: Money) -> bool:
        return self.amount < self._same(other).amount

    def __le__(self, other: Money) -> bool:
        return self.amount <= self._same(other).amount

    def __gt__(self, other: Money) -> bool:
        return self.amount > self._same(other).amount

    def __ge__(self, other: Money) -> bool:
        return self.amount >= self._same(other).amount

    def min(self, other: Money) -> Money:
        return self if self <= other else other

    def max(self, other: Money) -> Money:
        return self if self >= other else other


def total(amounts: Iterable[Money], currency: str) -> Money:
    """Sum ``amounts``; an empty iterable gives zero of ``currency``."""
    result = Money.zero(currency)
    for amount in amounts:
        result = result + amount
    return result


def allocate(whole: Money, weights: Sequence[Decimal | int]) -> list[Money]:
    """Split ``whole`` over ``weights`` in whole minor units; the parts add up to ``whole``.

    Largest-remainder method: each part gets the floor of its exact share, the leftover minor
    units go to the parts with the largest remainders (earlier parts win ties), so a
    discount of 10.00 over three equal lines is 3.34 + 3.33 + 3.33, never 9.99 or 10.01.
    """
    if not weights:
        raise ValueError("allocate() needs at least one weight")
    ws = [Decimal(w) for w in weights]
    if any(w < 0 for w in ws):
        raise ValueError("weights must not be negative")
    weight_sum = sum(ws, Decimal(0))
    sign = -1 if whole.minor < 0 else 1
    units = abs(whole.minor)
    if weight_sum == 0:
        ws = [Decimal(1)] * len(ws)
        weight_sum = Decimal(len(ws))
    exact = [Decimal(units) * w / weight_sum for w in ws]
    floors = [int(e) for e in exact]
    leftover = units - sum(floors)
    order = sorted(range(len(ws)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in order[:leftover]:
        floors[i] += 1
    return [Money.from_minor(sign * f, whole.currency) for f in floors]
