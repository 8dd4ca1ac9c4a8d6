"""``aftersales law deadlines``: the stable JSON contract and its refusals."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from aftersales.cli import law

AFTERSALES = Path(sys.executable).with_name("aftersales")


def cli() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """Test root."""

    law.register(app)
    return app


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli(), ["law", "deadlines", *args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def ok(*args: str) -> dict[str, Any]:
    code, out, err = run(*args)
    assert code == 0, err
    data: dict[str, Any] = json.loads(out)
    return data


def test_installed_command_gives_the_contract_date() -> None:
    proc = subprocess.run(
        [
            str(AFTERSALES),
            "law",
            "deadlines",
            "--jurisdiction",
            "PL",
            "--delivered-at",
            "2026-12-12T12:00:00+01:00",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["withdrawal_last_day"] == "2026-12-28"
    assert data["trace"]


@pytest.mark.parametrize(
    ("delivered", "expected"),
    [("2026-05-01T12:00:00+02:00", "2026-05-15"), ("2026-12-12T12:00:00+01:00", "2026-12-28")],
)
def test_contract_cases(delivered: str, expected: str) -> None:
    data = ok("--jurisdiction", "PL", "--delivered-at", delivered)
    assert data["withdrawal_last_day"] == expected
    assert isinstance(data["trace"], list)


def test_only_the_deadlines_asked_for_are_printed() -> None:
    data = ok("--jurisdiction", "PL", "--withdrawal-at", "2026-12-23T10:00:00+01:00")
    assert data["refund_last_day"] == "2027-01-07"
    assert "withdrawal_last_day" not in data
    assert "complaint_answer_last_day" not in data
    assert any("Epiphany" in line for line in data["trace"])


def test_all_three_deadlines_with_a_trace_for_each() -> None:
    data = ok(
        "--jurisdiction", "PL",
        "--delivered-at", "2026-12-12T12:00:00+01:00",
        "--withdrawal-at", "2026-12-23T10:00:00+01:00",
        "--complaint-at", "2026-10-28T10:00:00+01:00",
    )  # fmt: skip
    assert (data["withdrawal_last_day"], data["refund_last_day"], data["complaint_answer_last_day"]) == (
        "2026-12-28",
        "2027-01-07",
        "2026-11-12",
    )
    prefixes = {line.split(":", 1)[0] for line in data["trace"]}
    assert prefixes == {"withdrawal", "refund", "complaint answer"}
    assert data["timezone"] == "Europe/Warsaw"


def test_multi_shipment_and_not_informed() -> None:
    data = ok(
        "--jurisdiction", "PL",
        "--delivered-at", "2026-05-01T12:00:00+02:00",
        "--delivered-at", "2026-05-06T09:00:00+02:00",
    )  # fmt: skip
    assert data["withdrawal_last_day"] == "2026-05-20"
    data = ok("--jurisdiction", "PL", "--delivered-at", "2026-05-01T12:00:00+02:00", "--not-informed")
    assert data["withdrawal_last_day"] == "2027-05-17"


def test_a_time_zone_can_be_given() -> None:
    # 23:30 in London on 1 May is 00:30 on 2 May in Warsaw; a London-based PL-law shop counts from 1 May.
    data = ok(
        "--jurisdiction", "PL", "--timezone", "Europe/London", "--delivered-at", "2026-05-01T23:30:00+01:00"
    )
    assert data["withdrawal_last_day"] == "2026-05-15"
    assert data["timezone"] == "Europe/London"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--jurisdiction", "PL", "--delivered-at", "2026-05-01T12:00:00"], "no UTC offset"),
        (["--jurisdiction", "PL", "--delivered-at", "1 May"], "not an ISO 8601"),
        (["--jurisdiction", "XX", "--delivered-at", "2026-05-01T12:00:00+02:00"], "unknown jurisdiction"),
        (
            [
                "--jurisdiction",
                "PL",
                "--timezone",
                "Mars/Olympus",
                "--delivered-at",
                "2026-05-01T12:00:00+02:00",
            ],
            "unknown time zone",
        ),
        (["--jurisdiction", "EU", "--delivered-at", "2026-05-01T12:00:00+02:00"], "time zone"),
        (["--jurisdiction", "PL"], "nothing to compute"),
        (["--delivered-at", "2026-05-01T12:00:00+02:00"], "--jurisdiction is required"),
    ],
)
def test_bad_input_is_one_clear_line_and_exit_1(args: list[str], message: str) -> None:
    code, out, err = run(*args)
    assert code == 1
    assert out == ""
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err
