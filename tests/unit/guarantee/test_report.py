"""The merchant's month: promises kept and broken, what the broken ones cost, and why."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from aftersales.cli import app
from aftersales.cli.shop import open_store
from aftersales.store.models import Effect, Shop
from aftersales.store.models import Promise as PromiseRow
from aftersales.workflows.guarantee import guarantee_report

T0 = datetime(2026, 11, 2, 9, tzinfo=UTC)


def promise(
    order: str,
    outcome: str,
    dispatch_by: date = date(2026, 11, 10),
    *,
    late: str | None = None,
    excluded: str | None = None,
    paid: bool = False,
    shop: str = "sklep",
) -> PromiseRow:
    return PromiseRow(
        shop_id=shop,
        order_id=order,
        dispatch_by=dispatch_by,
        deliver_by=None,
        trace=[],
        excluded_reason=excluded,
        snapshot_at=T0,
        outcome=outcome,
        late_reason=late,
        payout_effect_key=f"guarantee:{shop}:{order}" if paid else None,
        customer_email=f"{order}@example.pl",
    )


def payout(order: str, state: str, amount: str = "50.00", *, voucher: bool = False) -> Effect:
    key = f"guarantee:sklep:{order}"
    return Effect(
        effect_key=key,
        shop_id="sklep",
        case_id=None,
        kind="platform_action" if voucher else "refund",
        state=state,
        request={"action": "voucher.issue", "params": {"amount": amount, "currency": "PLN"}}
        if voucher
        else {},
        amount=None if voucher else amount,
        currency=None if voucher else "PLN",
        attempts=1,
        created_at=T0,
        updated_at=T0,
    )


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'report.db'}"


@pytest.fixture
def sessions(db: str) -> sessionmaker[Session]:
    factory = open_store(db)
    with factory() as session, session.begin():
        session.add(
            Shop(id="sklep", platform="woocommerce", webhook_secrets=[], credentials={}, created_at=T0)
        )
        session.add_all(
            [
                promise("1", "on_time"),
                promise("2", "on_time"),
                promise("3", "on_time"),
                promise("4", "late", late="dispatched 1 business day late", paid=True),
                promise("5", "late", late="dispatched 1 business day late", paid=True),
                promise("6", "late", late="not dispatched by the promised day", paid=True),
                promise("7", "late", late="dispatched 2 business days late"),  # a cap left nothing
                promise(
                    "8", "excluded", excluded="sales channel 'marketplace' is excluded from the guarantee"
                ),
                promise(
                    "9", "excluded", excluded="sales channel 'marketplace' is excluded from the guarantee"
                ),
                promise(
                    "10", "excluded", excluded="paid outside the payment window: the promise does not bind"
                ),
                promise("11", "cancelled"),
                promise("12", "pending", dispatch_by=date(2026, 11, 30)),
                promise("13", "late", dispatch_by=date(2026, 12, 1), late="x", paid=True),  # next month
                promise("14", "late", dispatch_by=date(2026, 10, 31), late="x"),  # previous month
                promise("1", "late", late="x", shop="other-shop"),
                payout("4", "confirmed"),
                payout("5", "sent", voucher=True, amount="30.00"),
                payout("6", "failed"),
                payout("13", "confirmed"),
            ]
        )
    return factory


def test_the_month_of_promises(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        report = guarantee_report(session, "sklep", "2026-11")
    assert (report.orders, report.covered, report.pending, report.cancelled) == (12, 9, 1, 1)
    assert (report.on_time, report.late, report.excluded) == (3, 4, 3)
    assert report.on_time_percent == pytest.approx(42.9)
    assert (report.payouts, report.payouts_pending, report.payouts_failed, report.late_unpaid) == (2, 1, 1, 1)
    assert {cur: str(v) for cur, v in report.cost.items()} == {"PLN": "80.00"}
    assert report.late_reasons[0] == ("dispatched 1 business day late", 2)
    assert report.excluded_reasons == [
        ("sales channel 'marketplace' is excluded from the guarantee", 2),
        ("paid outside the payment window: the promise does not bind", 1),
    ]


def test_an_empty_month_has_no_rate(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        report = guarantee_report(session, "sklep", "2027-01")
    assert report.orders == 0 and report.on_time_percent is None


def test_cli_report_as_json(sessions: sessionmaker[Session], db: str) -> None:
    result = CliRunner().invoke(
        app, ["guarantee", "report", "--shop", "sklep", "--month", "2026-11", "--db", db, "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["orders_under_promise"] == 12
    assert data["on_time_percent"] == 42.9
    assert data["payouts"] == {"count": 2, "pending": 1, "failed": 1, "cost": {"PLN": "80.00"}}
    assert data["top_late_reasons"][0] == {"reason": "dispatched 1 business day late", "orders": 2}
    assert data["excluded_by_reason"][0]["orders"] == 2


def test_cli_report_as_text(sessions: sessionmaker[Session], db: str) -> None:
    result = CliRunner().invoke(
        app, ["guarantee", "report", "--shop", "sklep", "--month", "2026-11", "--db", db]
    )
    assert result.exit_code == 0, result.output
    assert "42.9%" in result.stdout
    assert "dispatched 1 business day late" in result.stdout
    assert "80.00 PLN" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--shop", "sklep", "--month", "2026-13"], "--month: a month is written YYYY-MM"),
        (["--shop", "sklep"], "--month is required"),
        (["--month", "2026-11"], "--shop is required"),
        (["--shop", "nope", "--month", "2026-11"], "no shop 'nope'"),
    ],
)
def test_cli_report_bad_input(
    sessions: sessionmaker[Session], db: str, args: list[str], message: str
) -> None:
    result = CliRunner().invoke(app, ["guarantee", "report", *args, "--db", db])
    assert result.exit_code == 1
    assert message in result.stderr
    assert "Traceback" not in result.output
