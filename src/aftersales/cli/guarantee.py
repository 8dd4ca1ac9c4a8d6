"""``aftersales guarantee ...``: the shipping promise (and, from the guarantee workflow, its report).

``guarantee promise`` contract (DESIGN §13): JSON on stdout with ``dispatch_by`` (ISO date)
and ``trace``; the values come from flags or from ``--policy FILE`` (flags win). Bad input
(naive date-time, unknown time zone, a 25:00 cut-off, negative handling days): one line on
stderr, exit 1.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from aftersales.calendar import BusinessCalendar, UnknownTimezone
from aftersales.cli._common import DbOption, db_url, fail, print_json
from aftersales.cli.law import parse_aware
from aftersales.law import UnknownJurisdiction, get_profile, shop_timezone
from aftersales.policy import PolicyError, load_policy
from aftersales.policy.fields import parse_clock_time
from aftersales.policy.schema import PeakSeason
from aftersales.workflows.promise import compute_promise

app = typer.Typer(help="Shipping guarantee: promises and payouts.", no_args_is_help=True)


@app.callback()
def _guarantee() -> None:
    """Shipping guarantee: "dispatched on time or money back"."""


def _int_option(option: str, value: str | None) -> int | None:
    if value is None:
        return None
    try:
        number = int(value.strip())
    except ValueError:
        fail(f"{option} must be a whole number, got {value!r}")
    return number


@app.command()
def promise(
    paid_at: Annotated[str | None, typer.Option("--paid-at", help="Payment date-time with offset.")] = None,
    ordered_at: Annotated[
        str | None, typer.Option("--ordered-at", help="Order date-time (for a payment window).")
    ] = None,
    policy_file: Annotated[
        Path | None,
        typer.Option("--policy", help="Take jurisdiction, time zone, cut-off, handling days from a policy."),
    ] = None,
    jurisdiction: Annotated[
        str | None, typer.Option("--jurisdiction", help="Whose public holidays count.")
    ] = None,
    timezone: Annotated[
        str | None, typer.Option("--timezone", help="Shop time zone, e.g. Europe/Warsaw.")
    ] = None,
    cutoff: Annotated[str | None, typer.Option("--cutoff", help="Local cut-off time HH:MM.")] = None,
    handling_days: Annotated[
        str | None, typer.Option("--handling-days", help="Handling business days.")
    ] = None,
    payment_window: Annotated[
        str | None,
        typer.Option(
            "--payment-window", help="Minutes after ordering within which payment binds the promise."
        ),
    ] = None,
    zone: Annotated[
        str | None, typer.Option("--zone", help="Shipping zone (transit days from the policy).")
    ] = None,
    transit_days: Annotated[
        str | None, typer.Option("--transit-days", help="Carrier business days to deliver.")
    ] = None,
) -> None:
    """Print by which day an order paid at --paid-at must be dispatched (JSON with a trace)."""
    if not paid_at:
        fail("--paid-at is required (e.g. --paid-at 2026-11-30T10:00:00+01:00)")
    paid = parse_aware("--paid-at", paid_at)
    ordered = parse_aware("--ordered-at", ordered_at) if ordered_at else None
    handling = _int_option("--handling-days", handling_days)
    window = _int_option("--payment-window", payment_window)
    transit = _int_option("--transit-days", transit_days)

    closures: frozenset[Any] = frozenset()
    peak: list[PeakSeason] = []
    if policy_file is not None:
        try:
            policy = load_policy(policy_file)
        except PolicyError as exc:
            fail(f"invalid policy: {exc.errors[0] if exc.errors else exc}")
        settings = policy.guarantee.promise
        jurisdiction = jurisdiction or settings.calendar or policy.shop.jurisdiction
        timezone = timezone or policy.shop.timezone
        cutoff = cutoff or settings.cutoff.strftime("%H:%M")
        handling = settings.handling_business_days if handling is None else handling
        window = settings.payment_window_minutes if window is None else window
        if transit is None and zone:
            transit = policy.guarantee.transit_days.get(zone)
        closures = policy.closure_dates()
        peak = list(settings.peak)

    missing = [
        name
        for name, value in (
            ("--jurisdiction", jurisdiction),
            ("--cutoff", cutoff),
            ("--handling-days", handling),
        )
        if value is None
    ]
    if missing:
        fail(f"missing {', '.join(missing)} (or give --policy FILE)")
    assert jurisdiction is not None and cutoff is not None and handling is not None
    if handling < 0:
        fail(f"--handling-days must be 0 or more, got {handling}")
    try:
        cut = parse_clock_time(cutoff)
    except ValueError as exc:
        fail(f"--cutoff: {exc}")
    try:
        profile = get_profile(jurisdiction)
        calendar = BusinessCalendar(profile.holiday_country, shop_timezone(profile, timezone), closures)
        result = compute_promise(
            paid_at=paid,
            ordered_at=ordered,
            calendar=calendar,
            cutoff=cut,
            handling_business_days=handling,
            payment_window_minutes=window,
            peak=peak,
            transit_days=transit,
            zone=zone,
        )
    except (UnknownJurisdiction, UnknownTimezone, ValueError) as exc:
        fail(str(exc))
    data = result.model_dump(mode="json")
    ordered_keys = ["dispatch_by", "deliver_by", "binding", "day_zero", "dispatch_deadline"]
    out = {key: data[key] for key in ordered_keys}
    out.update({k: v for k, v in data.items() if k not in out})
    print_json(out)


@app.command()
def report(
    shop: Annotated[str | None, typer.Option("--shop", help="The shop (see 'aftersales shop list').")] = None,
    month: Annotated[
        str | None, typer.Option("--month", help="The month, YYYY-MM (promised dispatch day).")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout.")] = False,
    db: DbOption = None,
) -> None:
    """Orders under promise, on-time rate, payouts and their cost, top late and exclusion reasons."""
    from rich.console import Console
    from rich.table import Table

    from aftersales.cli.shop import open_store
    from aftersales.store.models import Shop
    from aftersales.workflows.guarantee.payout import month_bounds
    from aftersales.workflows.guarantee.report import guarantee_report

    if not shop:
        fail("--shop is required (see 'aftersales shop list')")
    if not month:
        fail("--month is required, e.g. --month 2026-11")
    try:
        month_bounds(month)
    except ValueError as exc:
        fail(f"--month: {exc}")
    with open_store(db_url(db))() as session:
        if session.get(Shop, shop) is None:
            fail(f"no shop {shop!r} (see 'aftersales shop list')")
        result = guarantee_report(session, shop, month)
    data = result.as_dict()
    if json_out:
        print_json(data)
        return
    rate = "-" if result.on_time_percent is None else f"{result.on_time_percent}%"
    cost = ", ".join(f"{amount} {cur}" for cur, amount in data["payouts"]["cost"].items()) or "0"
    table = Table(title=f"Shipping guarantee, {shop}, promised in {result.month}", show_header=False)
    table.add_column("what")
    table.add_column("value", justify="right")
    for label, value in (
        ("orders under promise", result.orders),
        ("covered by the guarantee", result.covered),
        ("on time", result.on_time),
        ("late", result.late),
        ("on-time rate (measured orders)", rate),
        ("still pending", result.pending),
        ("excluded", result.excluded),
        ("cancelled", result.cancelled),
        (
            "payouts",
            f"{result.payouts} ({result.payouts_pending} unconfirmed, {result.payouts_failed} failed)",
        ),
        ("payout cost", cost),
        ("late without a payout", result.late_unpaid),
    ):
        table.add_row(label, str(value))
    console = Console()
    console.print(table)
    for title, rows in (
        ("Top late reasons", result.late_reasons),
        ("Excluded by reason", result.excluded_reasons),
    ):
        if rows:
            console.print(title + ":")
            for reason, count in rows:
                console.print(f"  {count:>5}  {reason}", highlight=False, markup=False)


def register(root: typer.Typer) -> None:
    """Add ``aftersales guarantee ...`` to the root app."""
    root.add_typer(app, name="guarantee")
