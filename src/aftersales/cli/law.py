"""``aftersales law deadlines``: the statutory last days for a delivery, a withdrawal, a complaint.

Contract (DESIGN §13): one JSON object on stdout with ``withdrawal_last_day``,
``refund_last_day``, ``complaint_answer_last_day`` (ISO dates, only those asked for) and
``trace`` (why each date is what it is). Every date-time needs a UTC offset: a naive
"12:00" is a different instant in every shop, and a legal date computed from it would be
wrong around midnight. Bad input: one line on stderr, exit 1.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import typer

from aftersales.calendar import UnknownTimezone
from aftersales.cli._common import fail, print_json
from aftersales.law import (
    UnknownJurisdiction,
    complaint_answer_last_day,
    get_profile,
    refund_last_day,
    shop_timezone,
    withdrawal_last_day,
)

app = typer.Typer(help="Statutory deadlines (consumer law of PL and the EU default).", no_args_is_help=True)


def parse_aware(option: str, value: str) -> datetime:
    """An ISO 8601 date-time WITH offset, or a clear CLI error naming the option."""
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        fail(f"{option} {value!r} is not an ISO 8601 date-time; write e.g. 2026-05-01T12:00:00+02:00")
    if moment.tzinfo is None or moment.utcoffset() is None:
        fail(f"{option} {value} has no UTC offset; write it with one, e.g. 2026-05-01T12:00:00+02:00")
    return moment


@app.command()
def deadlines(
    jurisdiction: Annotated[
        str | None, typer.Option("--jurisdiction", help="PL, EU, CZ, SK, DE, ...")
    ] = None,
    timezone: Annotated[
        str | None,
        typer.Option("--timezone", help="Shop time zone (default: the jurisdiction's, e.g. Europe/Warsaw)."),
    ] = None,
    delivered_at: Annotated[
        list[str] | None,
        typer.Option("--delivered-at", help="Delivery date-time with offset; repeat for each shipment."),
    ] = None,
    withdrawal_at: Annotated[
        str | None, typer.Option("--withdrawal-at", help="When the withdrawal statement was received.")
    ] = None,
    complaint_at: Annotated[
        str | None, typer.Option("--complaint-at", help="When the complaint was received.")
    ] = None,
    not_informed: Annotated[
        bool, typer.Option("--not-informed", help="The consumer was not informed of the right of withdrawal.")
    ] = False,
    informed_at: Annotated[
        str | None,
        typer.Option("--informed-at", help="With --not-informed: when the information was given late."),
    ] = None,
) -> None:
    """Print the last days of the withdrawal, refund and complaint-answer periods as JSON."""
    if not jurisdiction:
        fail("--jurisdiction is required (e.g. --jurisdiction PL)")
    try:
        profile = get_profile(jurisdiction)
        zone = shop_timezone(profile, timezone)
    except (UnknownJurisdiction, UnknownTimezone, ValueError) as exc:
        fail(str(exc))
    if not (delivered_at or withdrawal_at or complaint_at):
        fail("nothing to compute: give --delivered-at, --withdrawal-at and/or --complaint-at")
    if informed_at and not not_informed:
        fail("--informed-at only applies together with --not-informed")

    out: dict[str, Any] = {"jurisdiction": profile.code, "timezone": zone.key}
    trace: list[str] = []
    try:
        if delivered_at:
            deliveries = [parse_aware("--delivered-at", v) for v in delivered_at]
            told = parse_aware("--informed-at", informed_at) if informed_at else None
            result = withdrawal_last_day(
                deliveries, informed=not not_informed, informed_at=told, profile=profile, timezone=zone
            )
            out["withdrawal_last_day"] = result.last_day.isoformat()
            trace += [f"withdrawal: {line}" for line in result.trace]
        if withdrawal_at:
            result = refund_last_day(
                parse_aware("--withdrawal-at", withdrawal_at), profile=profile, timezone=zone
            )
            out["refund_last_day"] = result.last_day.isoformat()
            trace += [f"refund: {line}" for line in result.trace]
        if complaint_at:
            result = complaint_answer_last_day(
                parse_aware("--complaint-at", complaint_at), profile=profile, timezone=zone
            )
            out["complaint_answer_last_day"] = result.last_day.isoformat()
            trace += [f"complaint answer: {line}" for line in result.trace]
    except ValueError as exc:
        fail(str(exc))
    out["trace"] = trace
    print_json(out)


@app.command()
def profiles() -> None:
    """List the jurisdiction profiles and their statutory numbers as JSON."""
    from aftersales.law import PROFILES

    print_json(
        [
            {
                "code": p.code,
                "name": p.name,
                "holidays": p.holiday_country,
                "timezone": p.default_timezone,
                "withdrawal_days": p.withdrawal_days,
                "refund_days": p.refund_days,
                "complaint_answer_days": p.complaint_answer_days,
                "complaint_answer_rule": p.complaint_answer_rule,
            }
            for p in PROFILES.values()
        ]
    )


def register(root: typer.Typer) -> None:
    """Add ``aftersales law ...`` to the root app."""
    root.add_typer(app, name="law")
