"""Shared pydantic bases and field types for the domain.

Two rules hold everywhere in the domain:
- datetimes are time-zone aware (a naive datetime is a validation error: a legal deadline
  computed from "12:00 somewhere" is wrong in half the cases);
- platform ids are strings, so a 64-bit Shopify id or a GID survives JSON and JavaScript.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise ValueError("datetime must carry a time zone offset (e.g. 2026-05-01T12:00:00+02:00)")
    return value


def _platform_id(value: object) -> object:
    if isinstance(value, bool | float):
        raise ValueError("platform ids must be strings or integers, never floats (64-bit ids lose digits)")
    if isinstance(value, int):
        return str(value)
    return value


AwareDatetime = Annotated[datetime, AfterValidator(_aware)]
"""A datetime that must carry a UTC offset."""

PlatformId = Annotated[str, BeforeValidator(_platform_id)]
"""A platform's id kept exact as a string (ints are converted, floats refused)."""


class DomainModel(BaseModel):
    """Base of every domain model: unknown fields are errors, values validated on assignment."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False)
