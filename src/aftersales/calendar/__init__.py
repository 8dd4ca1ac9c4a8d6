"""Business days per jurisdiction, in the shop's time zone (see :mod:`.business`)."""

from aftersales.calendar.business import (
    BusinessCalendar,
    UnknownTimezone,
    aware,
    end_of_local_day,
    resolve_timezone,
)

__all__ = ["BusinessCalendar", "UnknownTimezone", "aware", "end_of_local_day", "resolve_timezone"]
