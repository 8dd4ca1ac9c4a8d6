"""``aftersales demo`` as a newcomer runs it: one command, a subprocess, under a minute.

The demo's summary must be the system's own state, so after the run this test opens the
demo's database and mail folder and checks the printed figures against them: the cases and
their statuses, the refunds the ledger confirmed, the webhook deliveries the ingress
accepted, the e-mails the SMTP sink received.

The engine clock starts on Christmas Eve at 21:30 in Warsaw (``--start``), so the run is the
same whatever day the suite runs, and it crosses what the calendars must get right: Polish
public holidays (24-26 December, 6 January) and a weekend before the promised dispatch day,
and the back-in-stock quiet hours at night.
"""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

AFTERSALES = Path(sys.executable).with_name("aftersales")
START = "2026-12-24T21:30+01:00"
"""Thursday 24 December 2026, a public holiday in Poland (from 2025), after the alert quiet hours began."""
TITLES = (
    "Withdrawal refunded automatically",
    "Commercial return declined out of window",
    "Complaint deemed accepted after 14 days",
    "Repair with a loaner",
    "Late dispatch paid out automatically",
    "Back-in-stock alert in two waves",
)


@pytest.fixture(scope="module")
def demo_run(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[subprocess.CompletedProcess[str], float, Path]:
    directory = tmp_path_factory.mktemp("demo") / "run"
    started = time.monotonic()
    result = subprocess.run(
        [str(AFTERSALES), "demo", "--dir", str(directory), "--start", START],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    return result, time.monotonic() - started, directory


def _rows(db: Path, query: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        return list(conn.execute(query))


def test_the_demo_passes_every_scenario_within_a_minute(
    demo_run: tuple[subprocess.CompletedProcess[str], float, Path],
) -> None:
    result, elapsed, _ = demo_run
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    for title in TITLES:
        assert title in result.stdout
    assert "FAILED" not in result.stdout and "not available" not in result.stdout
    assert "All 6 scenarios passed." in result.stdout
    assert elapsed < 60, f"the demo took {elapsed:.1f} s"


def test_the_cases_in_the_summary_are_the_cases_in_the_database(
    demo_run: tuple[subprocess.CompletedProcess[str], float, Path],
) -> None:
    result, _, directory = demo_run
    cases = dict(
        _rows(
            directory / "aftersales.db",
            "SELECT type, status FROM cases WHERE type != 'goodwill' ORDER BY number",
        )
    )
    assert cases["withdrawal"] == "refunded"
    assert cases["return"] == "rejected"
    assert cases["guarantee_payout"] == "paid"
    statuses = {
        row[0]
        for row in _rows(directory / "aftersales.db", "SELECT status FROM cases WHERE type = 'complaint'")
    }
    assert "resolved" in statuses  # the repair
    assert statuses & {"deemed_accepted", "replacing"}  # accepted by law, replacement under way
    for (number,) in _rows(directory / "aftersales.db", "SELECT number FROM cases"):
        assert number in result.stdout
    deemed = _rows(
        directory / "aftersales.db",
        "SELECT count(*) FROM case_events WHERE event = 'deemed_accepted' AND actor = 'timer'",
    )
    assert deemed == [(1,)]
    loaners = _rows(directory / "aftersales.db", "SELECT serial, returned_at IS NOT NULL FROM loaners")
    assert loaners == [("WYP-PB14-007", 1)]


def test_the_clock_jumps_follow_the_legal_calendars(
    demo_run: tuple[subprocess.CompletedProcess[str], float, Path],
) -> None:
    result, _, _ = demo_run
    # paid on a holiday: the next business day is Monday 28th (25-26 are holidays, then the
    # weekend), plus one handling day; the promise ends with Tuesday 29th in Warsaw
    assert "promised dispatch by 2026-12-29" in result.stdout
    assert "→ 2026-12-29 23:00 UTC (Late dispatch paid out automatically)" in result.stdout
    # 14 calendar days from 24 December: Thursday 7 January, a working day, to its end in Warsaw
    assert "→ 2027-01-07 23:00 UTC (Complaint deemed accepted after 14 days)" in result.stdout
    # the restock came at night: wave 1 waits for the end of the quiet hours (08:00 in Berlin)
    assert "→ 2026-12-25 07:00 UTC (Back-in-stock alert in two waves)" in result.stdout


def test_money_moved_once_per_case_through_the_ledger(
    demo_run: tuple[subprocess.CompletedProcess[str], float, Path],
) -> None:
    result, _, directory = demo_run
    refunds = sorted(
        _rows(
            directory / "aftersales.db",
            "SELECT currency, amount FROM effects WHERE kind = 'refund' AND state = 'confirmed'",
        )
    )
    # the whole order back, the cheapest delivery included (89.00 + 2 × 12.50 + 4.90); the fixed 50 zł
    assert refunds == [("EUR", "118.90"), ("PLN", "50.00")]
    assert "Money moved at the shops: 118.90 EUR, 50.00 PLN in 2 refund(s)." in result.stdout
    refused = _rows(directory / "aftersales.db", "SELECT count(*) FROM deliveries WHERE status_code != 200")
    assert refused == [(0,)]
    accepted = _rows(directory / "aftersales.db", "SELECT count(DISTINCT platform) FROM deliveries")
    assert accepted == [(2,)]  # signed webhooks from both shops reached the ingress


def test_every_e_mail_counted_was_sent_and_kept(
    demo_run: tuple[subprocess.CompletedProcess[str], float, Path],
) -> None:
    result, _, directory = demo_run
    found = re.search(r"E-mails received by the SMTP sink: (\d+)\.", result.stdout)
    assert found, result.stdout[-2000:]
    counted = int(found.group(1))
    sent = _rows(
        directory / "aftersales.db", "SELECT count(*) FROM outbox WHERE state = 'sent' AND channel = 'email'"
    )
    assert sent == [(counted,)]
    assert len(list((directory / "mail").glob("*.eml"))) == counted
    pending = _rows(directory / "aftersales.db", "SELECT count(*) FROM outbox WHERE state != 'sent'")
    assert pending == [(0,)]
    alerts = _rows(
        directory / "aftersales.db", "SELECT wave, count(*) FROM restock_messages GROUP BY wave ORDER BY wave"
    )
    assert [wave for wave, _ in alerts] == [1, 2]
    assert f"wave 1: {alerts[0][1]} alerts" in result.stdout
    assert f"wave 2: {alerts[1][1]} alerts" in result.stdout
