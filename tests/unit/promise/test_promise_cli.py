"""``aftersales guarantee promise``: the JSON contract, flags or a policy file, and clear refusals."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from aftersales.cli import guarantee

AFTERSALES = Path(sys.executable).with_name("aftersales")
EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "policies"
FLAGS = ["--jurisdiction", "PL", "--timezone", "Europe/Warsaw", "--cutoff", "12:00"]


def run(*args: str) -> tuple[int, str, str]:
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """Test root."""

    guarantee.register(app)
    result = CliRunner().invoke(app, ["guarantee", "promise", *args])
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
            "guarantee",
            "promise",
            *FLAGS,
            "--handling-days",
            "1",
            "--paid-at",
            "2026-11-30T10:00:00+01:00",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["dispatch_by"] == "2026-12-01"
    assert data["trace"]


@pytest.mark.parametrize(
    ("paid", "days", "expected"),
    [("2026-11-30T10:00:00+01:00", "1", "2026-12-01"), ("2026-05-01T10:00:00+02:00", "0", "2026-05-04")],
)
def test_contract_cases(paid: str, days: str, expected: str) -> None:
    data = ok(*FLAGS, "--handling-days", days, "--paid-at", paid)
    assert data["dispatch_by"] == expected
    assert isinstance(data["trace"], list)


def test_the_policy_file_supplies_the_values() -> None:
    data = ok(
        "--policy", str(EXAMPLES / "pl-shop.yaml"),
        "--paid-at", "2026-06-01T10:05:00+02:00",
        "--ordered-at", "2026-06-01T10:00:00+02:00",
        "--zone", "PL",
    )  # fmt: skip
    assert (data["dispatch_by"], data["deliver_by"], data["binding"]) == ("2026-06-02", "2026-06-03", True)


def test_flags_override_the_policy() -> None:
    data = ok(
        "--policy", str(EXAMPLES / "pl-shop.yaml"),
        "--handling-days", "0",
        "--paid-at", "2026-06-01T10:05:00+02:00",
        "--ordered-at", "2026-06-01T10:00:00+02:00",
    )  # fmt: skip
    assert data["dispatch_by"] == "2026-06-01"


def test_the_policy_payment_window_applies() -> None:
    data = ok(
        "--policy", str(EXAMPLES / "pl-shop.yaml"),
        "--paid-at", "2026-06-01T12:10:00+02:00",
        "--ordered-at", "2026-06-01T10:00:00+02:00",
    )  # fmt: skip
    assert data["binding"] is False


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([*FLAGS, "--handling-days", "1", "--paid-at", "2026-06-01T10:00:00"], "no UTC offset"),
        ([*FLAGS, "--handling-days", "1"], "--paid-at is required"),
        (
            [
                "--jurisdiction",
                "PL",
                "--timezone",
                "Europe/Warsaw",
                "--cutoff",
                "25:00",
                "--handling-days",
                "1",
                "--paid-at",
                "2026-06-01T10:00:00+02:00",
            ],
            "between 00:00 and 23:59",
        ),
        ([*FLAGS, "--handling-days", "-1", "--paid-at", "2026-06-01T10:00:00+02:00"], "0 or more"),
        ([*FLAGS, "--handling-days", "one", "--paid-at", "2026-06-01T10:00:00+02:00"], "whole number"),
        (
            [
                "--jurisdiction",
                "PL",
                "--timezone",
                "Europe/Krakow",
                "--cutoff",
                "12:00",
                "--handling-days",
                "1",
                "--paid-at",
                "2026-06-01T10:00:00+02:00",
            ],
            "unknown time zone",
        ),
        (
            ["--jurisdiction", "PL", "--paid-at", "2026-06-01T10:00:00+02:00"],
            "missing --cutoff, --handling-days",
        ),
        (
            [
                *FLAGS,
                "--handling-days",
                "1",
                "--payment-window",
                "30",
                "--paid-at",
                "2026-06-01T10:00:00+02:00",
            ],
            "needs the order time",
        ),
        (["--policy", "no-such-policy.yaml", "--paid-at", "2026-06-01T10:00:00+02:00"], "invalid policy"),
    ],
)
def test_bad_input_is_one_clear_line_and_exit_1(args: list[str], message: str) -> None:
    code, out, err = run(*args)
    assert code == 1
    assert out == ""
    assert message in err
    assert len(err.strip().splitlines()) == 1
