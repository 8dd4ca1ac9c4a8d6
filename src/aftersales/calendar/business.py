"""Business days of a shop: weekdays minus public holidays minus the shop's own closures.

Why a class around the ``holidays`` package: every promise and every legal deadline asks the
same three questions ("is this a business day?", "which day comes next?", "what is N business
days after this?") and must answer them in the shop's *local* date, never the server's. A
payment at 23:30 UTC on 30 April is a 1 May (public holiday) payment in Warsaw.

Two calendars exist for one shop and must not be confused:

- the *shop* calendar (``closures`` set): used for the shipping promise; the shop decides
  when it ships;
- the *legal* calendar (no closures): used for statutory deadlines. A shop's stocktaking day
  never extends a consumer's withdrawal window nor the shop's own duty to answer a complaint;
  only Saturdays, Sundays and public holidays do (art. 115 k.c.; Regulation 1182/71 art. 3(4)).

Public holidays come from the ``holidays`` package (maintained, covers Poland's moving feasts:
Easter Monday, Corpus Christi; 24 December is a Polish public holiday from 2025 by the act of
6 December 2024 amending the act on days off work, and the installed ``holidays`` lists it —
``tests/unit/calendar`` pins that, so an upgrade that loses it fails loudly).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

__all__ = [
    "BusinessCalendar",
    "UnknownTimezone",
    "aware",
    "end_of_local_day",
    "resolve_timezone",
]

_WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class UnknownTimezone(ValueError):
    """A time zone name that the IANA database (zoneinfo) does not know."""


def resolve_timezone(tz: str | ZoneInfo) -> ZoneInfo:
    """Return the ``ZoneInfo`` for an IANA name; an unknown name is a clear ``UnknownTimezone``."""
    if isinstance(tz, ZoneInfo):
        return tz
    if not isinstance(tz, str) or not tz.strip():
        raise UnknownTimezone(f"a time zone must be an IANA name such as 'Europe/Warsaw', got {tz!r}")
    try:
        return ZoneInfo(tz.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise UnknownTimezone(
            f"unknown time zone {tz!r}: expected an IANA name such as 'Europe/Warsaw'"
        ) from None


def aware(value: datetime, what: str = "datetime") -> datetime:
    """Refuse naive datetimes: "12:00" without an offset is a different instant in every shop."""
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise ValueError(
            f"{what} {value.isoformat()} has no UTC offset; write it with one, e.g. 2026-05-01T12:00:00+02:00"
        )
    return value


def end_of_local_day(day: date, tz: str | ZoneInfo) -> datetime:
    """The instant ``day`` ends in ``tz``: the first instant of the next local day.

    A period "ends with the expiry of the last hour of" its last day (Regulation 1182/71
    art. 3(2)(b)), so an act done strictly before this instant is in time. Returned as an
    aware datetime normalised through UTC, so a durable timer can be scheduled on it even
    across a DST change (and in zones where midnight itself is skipped).
    """
    zone = resolve_timezone(tz)
    naive_midnight = datetime.combine(day + timedelta(days=1), time(0))
    return naive_midnight.replace(tzinfo=zone).astimezone(ZoneInfo("UTC")).astimezone(zone)


@lru_cache(maxsize=64)
def _public_holidays(country: str) -> Any:
    """One lazily-expanding ``holidays`` table per country (English names for traces)."""
    probe = holidays.country_holidays(country)
    language = "en_US" if "en_US" in getattr(probe, "supported_languages", ()) else None
    return holidays.country_holidays(country, language=language)


class BusinessCalendar:
    """Business days for one jurisdiction, one time zone and optional shop closures.

    ``jurisdiction`` is an ISO 3166 country code known to the ``holidays`` package ("PL",
    "CZ", "DE", ...), or "EU" / ``None`` for weekends only: the EU has no common list of
    public holidays, so the EU default profile only knows Saturdays and Sundays (a shop in a
    member state should name its country). ``closures`` are extra local dates on which the
    shop does not work.
    """

    def __init__(
        self,
        jurisdiction: str | None,
        timezone: str | ZoneInfo,
        closures: Iterable[date] = (),
    ) -> None:
        self.timezone = resolve_timezone(timezone)
        code = jurisdiction.strip().upper() if jurisdiction else None
        self.holiday_country = None if code in (None, "", "EU") else code
        if self.holiday_country is not None:
            try:
                self._holidays: Any = _public_holidays(self.holiday_country)
            except NotImplementedError:
                raise ValueError(f"no public-holiday calendar for country {jurisdiction!r}") from None
        else:
            self._holidays = None
        self.closures: frozenset[date] = frozenset(closures)

    def __repr__(self) -> str:
        return (
            f"BusinessCalendar({self.holiday_country!r}, {self.timezone.key!r}, "
            f"closures={sorted(self.closures)!r})"
        )

    def without_closures(self) -> BusinessCalendar:
        """The legal calendar of the same country and zone: closures never move a legal deadline."""
        return BusinessCalendar(self.holiday_country, self.timezone)

    # -- questions about one day ----------------------------------------------------------------
    def holiday_name(self, day: date) -> str | None:
        """The public holiday on ``day`` (names joined when two fall together), else None."""
        if self._holidays is None:
            return None
        names: list[str] = self._holidays.get_list(day)
        return "; ".join(names) if names else None

    def closed_reason(self, day: date) -> str | None:
        """Why ``day`` is not a business day ("Saturday", "public holiday: Easter Monday", ...)."""
        reasons: list[str] = []
        if day.weekday() >= 5:
            reasons.append(_WEEKDAY_NAMES[day.weekday()])
        name = self.holiday_name(day)
        if name:
            reasons.append(f"public holiday: {name}")
        if day in self.closures:
            reasons.append("shop closure")
        return ", ".join(reasons) or None

    def is_business_day(self, day: date) -> bool:
        """Monday to Friday, not a public holiday, not a shop closure."""
        if day.weekday() >= 5 or day in self.closures:
            return False
        return self._holidays is None or day not in self._holidays

    # -- moving between days ----------------------------------------------------------------------
    def next_business_day(self, day: date) -> date:
        """The first business day strictly after ``day``."""
        candidate = day + timedelta(days=1)
        while not self.is_business_day(candidate):
            candidate += timedelta(days=1)
        return candidate

    def business_day_on_or_after(self, day: date) -> date:
        """``day`` itself when it is a business day, else the next one."""
        return day if self.is_business_day(day) else self.next_business_day(day)

    def add_business_days(self, day: date, n: int) -> date:
        """The ``n``-th business day after ``day`` (``day`` itself is not counted).

        ``n == 0`` returns ``day`` rolled forward to a business day, so the result is always
        a business day. Negative ``n`` is refused: nothing in after-sales counts backwards.
        """
        if n < 0:
            raise ValueError(f"business days to add must be 0 or more, got {n}")
        if n == 0:
            return self.business_day_on_or_after(day)
        current = day
        for _ in range(n):
            current = self.next_business_day(current)
        return current

    def business_days_between(self, start: date, end: date) -> int:
        """How many business days lie in (start, end]: 0 when ``end <= start``."""
        count = 0
        current = start
        while current < end:
            current += timedelta(days=1)
            if self.is_business_day(current):
                count += 1
        return count

    # -- time zone ----------------------------------------------------------------------------------
    def local_date(self, moment: datetime) -> date:
        """The shop's local date of an aware instant (a naive datetime is refused)."""
        return aware(moment).astimezone(self.timezone).date()

    def local_datetime(self, moment: datetime) -> datetime:
        """An aware instant expressed in the shop's time zone."""
        return aware(moment).astimezone(self.timezone)

    def end_of_day(self, day: date) -> datetime:
        """The first instant after local ``day`` (see :func:`end_of_local_day`)."""
        return end_of_local_day(day, self.timezone)

    @staticmethod
    def describe(day: date) -> str:
        """``2026-12-28 (Monday)``: how days appear in traces."""
        return f"{day.isoformat()} ({_WEEKDAY_NAMES[day.weekday()]})"
