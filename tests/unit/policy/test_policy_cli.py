"""``aftersales policy check`` / ``policy schema``: exit codes and FILE:LINE:COL on stdout."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from aftersales.cli import policy as policy_cli

AFTERSALES = Path(sys.executable).with_name("aftersales")
EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "policies"
BAD = "shop:\n  name: X\n  jurisdiction: PL\n  currency: PLN\n  timezone: Europe/Warsaw\nreturns:\n  window_days: 10\n"


def run(*args: str) -> tuple[int, str, str]:
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """Test root."""

    policy_cli.register(app)
    result = CliRunner().invoke(app, ["policy", *args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_the_installed_command_rejects_the_contract_file(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(BAD, encoding="utf-8")
    proc = subprocess.run(
        [str(AFTERSALES), "policy", "check", "bad.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert proc.returncode == 1
    assert "bad.yaml:7:" in proc.stdout
    assert "Traceback" not in proc.stderr


def test_valid_examples_print_ok_and_exit_0() -> None:
    code, out, _ = run("check", str(EXAMPLES / "pl-shop.yaml"), str(EXAMPLES / "eu-shop.yaml"))
    assert code == 0
    assert out.splitlines() == [f"{EXAMPLES / 'pl-shop.yaml'}: ok", f"{EXAMPLES / 'eu-shop.yaml'}: ok"]


def test_one_invalid_file_among_valid_ones_fails_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("bad.yaml").write_text(BAD, encoding="utf-8")
    code, out, _ = run("check", str(EXAMPLES / "pl-shop.yaml"), "bad.yaml")
    assert code == 1
    lines = out.splitlines()
    assert lines[0].endswith("pl-shop.yaml: ok")
    assert lines[1].startswith("bad.yaml:7:16: returns.window_days 10 is below the legal minimum of 14 days")


def test_warnings_are_printed_and_the_file_is_still_ok(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("shop.yaml").write_text(BAD.replace("window_days: 10", "goods_due_days: 7"), encoding="utf-8")
    code, out, _ = run("check", "shop.yaml")
    assert code == 0
    assert out.splitlines() == [
        "shop.yaml:7:19: warning: returns.goods_due_days 7 raised to 14: the consumer has 14 days from the "
        "withdrawal statement to send the goods back (art. 34 ust. 1 u.p.k. / Directive 2011/83/EU art. 14(1))",
        "shop.yaml: ok",
    ]


def test_a_missing_file_is_reported_on_stdout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, _ = run("check", "nope.yaml")
    assert code == 1
    assert out.startswith("nope.yaml: cannot read the file")


def test_no_file_is_a_clear_error() -> None:
    code, _, err = run("check")
    assert code == 1
    assert "at least one FILE" in err


def test_schema_prints_json_schema() -> None:
    code, out, _ = run("schema")
    assert code == 0
    schema = json.loads(out)
    assert set(schema["properties"]) == {
        "shop",
        "returns",
        "complaints",
        "guarantee",
        "restock",
        "notifications",
    }
