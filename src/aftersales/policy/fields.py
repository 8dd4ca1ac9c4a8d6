"""Field types of the policy file: exact money, clock times, durations, codes checked against real data.

Each type validates *and* describes itself in the JSON Schema (``aftersales policy schema``)
as what a merchant writes in YAML — a quoted string for money, "HH:MM" for a cut-off,
"1h" for an interval — so editors autocomplete the same shape the loader accepts.
"""

from __future__ import annotations

import re
from datetime import time, timedelta
from decimal import Decimal, InvalidOperation
from email.utils import parseaddr
from functools import lru_cache
from typing import Annotated, Any

from babel import Locale, UnknownLocaleError
from babel.numbers import list_currencies
from email_validator import EmailNotValidError, validate_email
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, Strict, WithJsonSchema
from pydantic.json_schema import GenerateJsonSchema
from pydantic_core import core_schema

from aftersales.calendar import UnknownTimezone, resolve_timezone
from aftersales.law.profiles import UnknownJurisdiction, get_profile, supported_jurisdictions

__all__ = [
    "ClockTime",
    "CurrencyCode",
    "Days",
    "Duration",
    "EmailAddress",
    "Hours",
    "JurisdictionCode",
    "LanguageTag",
    "MoneyAmount",
    "PolicySchemaGenerator",
    "PolicySection",
    "PositiveInt",
    "TimezoneName",
    "format_duration",
    "parse_clock_time",
    "parse_duration",
]


class PolicySection(BaseModel):
    """Base of every policy section: unknown keys are errors, values immutable once loaded.

    Field docstrings become the JSON Schema descriptions (and the generated reference).
    """

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        use_attribute_docstrings=True,
        populate_by_name=True,
        validate_default=True,
    )


class PolicySchemaGenerator(GenerateJsonSchema):
    """Write defaults in the schema as a merchant writes them: "12:00", "1h" (not "12:00:00", "PT1H").

    Defaults made by a factory are shown too (pydantic leaves them out, which would make every
    optional section look required): a section's default is ``{}`` — "all its defaults".
    """

    def get_default_value(self, schema: core_schema.WithDefaultSchema) -> Any:
        factory = schema.get("default_factory")
        if factory is not None and not schema.get("default_factory_takes_data"):
            value = factory()  # type: ignore[call-arg]
            return {} if isinstance(value, BaseModel) else value
        return super().get_default_value(schema)

    def encode_default(self, dft: object) -> object:
        if isinstance(dft, time):
            return dft.strftime("%H:%M")
        if isinstance(dft, timedelta):
            return format_duration(dft)
        return super().encode_default(dft)


# -- numbers ------------------------------------------------------------------------------------------

Days = Annotated[int, Strict(), Field(ge=0, le=3660)]
"""A whole number of days (YAML integer; ``true`` or ``"14"`` are refused)."""

Hours = Annotated[int, Strict(), Field(ge=0, le=8784)]
PositiveInt = Annotated[int, Strict(), Field(ge=1)]


def _money(value: object) -> Decimal:
    """Money in the policy is a string ("50.00") or an integer; a YAML float is refused.

    A float such as ``50.1`` has no exact binary value, and a policy decides payouts and
    refunds; the loader reports the line so the merchant quotes the number.
    """
    if isinstance(value, bool):
        raise ValueError('expected an amount such as "50.00", got a boolean')
    if isinstance(value, float):
        raise ValueError(
            f'money must be written as a quoted string such as "{value:.2f}", not the float {value!r} '
            "(floats are not exact)"
        )
    if isinstance(value, Decimal):
        amount = value
    elif isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, str):
        try:
            amount = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f'not an amount: {value!r} (expected e.g. "50.00")') from None
    else:
        raise ValueError(f'expected an amount such as "50.00", got {type(value).__name__}')
    if not amount.is_finite():
        raise ValueError(f"amount must be finite, got {value!r}")
    if amount < 0:
        raise ValueError(f"amount must not be negative, got {value!r}")
    return amount


MoneyAmount = Annotated[
    Decimal,
    BeforeValidator(_money),
    PlainSerializer(lambda v: str(v), return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^\d+(\.\d+)?$", "examples": ["50.00"]}),
]
"""An amount in the shop's currency, written as a string; precision is checked against the currency."""


# -- time -----------------------------------------------------------------------------------------------

_HHMM = re.compile(r"^(?P<h>\d{1,2}):(?P<m>\d{2})$")


def parse_clock_time(value: object) -> time:
    if isinstance(value, time):
        return value
    if not isinstance(value, str):
        raise ValueError(f'expected a time of day as "HH:MM" (quoted), got {value!r}')
    match = _HHMM.match(value.strip())
    if not match or int(match["h"]) > 23 or int(match["m"]) > 59:
        raise ValueError(f'{value!r} is not a time of day: expected "HH:MM" between 00:00 and 23:59')
    return time(int(match["h"]), int(match["m"]))


ClockTime = Annotated[
    time,
    BeforeValidator(parse_clock_time),
    PlainSerializer(lambda v: v.strftime("%H:%M"), return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^([01]?\d|2[0-3]):[0-5]\d$", "examples": ["12:00"]}),
]
"""A local time of day, "HH:MM"."""

_DURATION = re.compile(r"^(?:(?P<d>\d+)d)?(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?(?:(?P<s>\d+)s)?$")


def parse_duration(value: object) -> timedelta:
    """ "1h", "30m", "1h30m", "2d" — how merchants write intervals (ISO 8601 "PT1H" also works).

    Hand-written: the compact form is five lines of regex, and no dependency parses both it
    and ISO 8601 durations.
    """
    if isinstance(value, timedelta):
        result = value
    elif isinstance(value, str):
        text = value.strip().lower()
        match = _DURATION.match(text)
        if text and match and any(match.groupdict().values()):
            parts = {k: int(v) for k, v in match.groupdict().items() if v}
            result = timedelta(
                days=parts.get("d", 0),
                hours=parts.get("h", 0),
                minutes=parts.get("m", 0),
                seconds=parts.get("s", 0),
            )
        else:
            iso = re.match(r"^p(?:(\d+)d)?(?:t(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?)?$", text)
            if not iso or not any(iso.groups()):
                raise ValueError(f'{value!r} is not a duration: write e.g. "1h", "30m", "1h30m" or "2d"')
            d, h, m, s = (int(g) if g else 0 for g in iso.groups())
            result = timedelta(days=d, hours=h, minutes=m, seconds=s)
    else:
        raise ValueError(f'expected a duration such as "1h" or "30m", got {value!r}')
    if result <= timedelta(0):
        raise ValueError(f"a duration must be longer than zero, got {value!r}")
    return result


def format_duration(value: timedelta) -> str:
    """The compact form back: ``timedelta(hours=1, minutes=30)`` → ``"1h30m"``."""
    total = int(value.total_seconds())
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "m"), (seconds, "s")]
    return "".join(f"{n}{unit}" for n, unit in parts if n) or "0s"


Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str),
    WithJsonSchema(
        {"type": "string", "pattern": r"^(\d+d)?(\d+h)?(\d+m)?(\d+s)?$", "examples": ["1h", "30m"]}
    ),
]
"""A positive interval written "1h", "30m", "1h30m", "2d"."""


# -- codes checked against real data -------------------------------------------------------------


@lru_cache(maxsize=1)
def _currencies() -> frozenset[str]:
    return frozenset(list_currencies())


def _currency(value: object) -> str:
    if not isinstance(value, str) or value.strip().upper() not in _currencies():
        raise ValueError(f"unknown currency {value!r}: expected an ISO 4217 code such as PLN, EUR or CZK")
    return value.strip().upper()


CurrencyCode = Annotated[
    str,
    BeforeValidator(_currency),
    WithJsonSchema({"type": "string", "pattern": "^[A-Z]{3}$", "examples": ["PLN", "EUR"]}),
]


def _timezone(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected an IANA time zone name such as Europe/Warsaw, got {value!r}")
    try:
        return resolve_timezone(value).key
    except UnknownTimezone as exc:
        raise ValueError(str(exc)) from None


TimezoneName = Annotated[
    str,
    BeforeValidator(_timezone),
    WithJsonSchema({"type": "string", "examples": ["Europe/Warsaw", "Europe/Berlin"]}),
]


def _jurisdiction(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(
            f"expected a jurisdiction code ({', '.join(supported_jurisdictions())}), got {value!r}"
        )
    try:
        return get_profile(value).code
    except UnknownJurisdiction as exc:
        raise ValueError(str(exc)) from None


JurisdictionCode = Annotated[
    str,
    BeforeValidator(_jurisdiction),
    WithJsonSchema({"type": "string", "enum": list(supported_jurisdictions())}),
]


def _language(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"expected a language tag such as pl or en, got {value!r}")
    try:
        Locale.parse(value.strip().replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        raise ValueError(f"unknown language {value!r}: expected a tag such as pl, en or de_AT") from None
    return value.strip()


LanguageTag = Annotated[
    str, BeforeValidator(_language), WithJsonSchema({"type": "string", "examples": ["pl", "en"]})
]


def _email(value: object) -> str:
    """An address, optionally with a display name: ``Sklep <sklep@example.pl>``.

    Syntax only (email-validator without DNS): a policy check must work offline.
    """
    if not isinstance(value, str):
        raise ValueError(f"expected an e-mail address, got {value!r}")
    _name, address = parseaddr(value)
    try:
        validate_email(address, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(f"not a valid e-mail address {value!r}: {exc}") from None
    return value.strip()


EmailAddress = Annotated[
    str,
    BeforeValidator(_email),
    WithJsonSchema({"type": "string", "examples": ["Sklep <sklep@example.pl>"]}),
]
