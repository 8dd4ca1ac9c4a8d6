"""``aftersales refund quote``: a merchant previews a refund from the platform's own order JSON."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aftersales.cli import app
from aftersales.cli.refund import CliInputError, parse_deductions, parse_lines
from aftersales.decisions import DeductionKind
from aftersales.domain import Money

AFTERSALES = Path(sys.executable).with_name("aftersales")
DATA = Path(__file__).parent / "data"
WOO_ORDER = DATA / "woocommerce_order_727.json"


@dataclass(frozen=True)
class Outcome:
    returncode: int
    stdout: str
    stderr: str


def run(*args: str) -> Outcome:
    """The command in this process (fast); :func:`run_installed` runs the real executable."""
    result = CliRunner().invoke(app, ["refund", "quote", *args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Outcome(result.exit_code, result.stdout, result.stderr)


def run_installed(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(AFTERSALES), "refund", "quote", *args], capture_output=True, text=True, timeout=60, check=False
    )


def has_platform(name: str) -> bool:
    return any(ep.name == name for ep in entry_points(group="aftersales"))


def test_lines_are_parsed_with_ids_that_contain_colons() -> None:
    assert parse_lines(["315:2", "gid://shopify/LineItem/123:1"]) == {
        "315": 2,
        "gid://shopify/LineItem/123": 1,
    }


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("315", "expected LINE_ID:QUANTITY"),
        (":2", "expected LINE_ID:QUANTITY"),
        ("315:", "expected LINE_ID:QUANTITY"),
        ("315:two", "is not a whole number"),
    ],
)
def test_a_malformed_line_is_named_in_the_error(value: str, message: str) -> None:
    with pytest.raises(CliInputError, match=message):
        parse_lines([value])


def test_the_same_line_twice_is_refused() -> None:
    with pytest.raises(CliInputError, match="given twice"):
        parse_lines(["315:1", "315:1"])


def test_deductions_keep_colons_in_their_reason() -> None:
    (d,) = parse_deductions(["diminished_value:12.50:scratches: left side"], "PLN")
    assert (d.kind, d.amount, d.reason) == (
        DeductionKind.DIMINISHED_VALUE,
        Money("12.50", "PLN"),
        "scratches: left side",
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("restocking_fee:5.00", "expected KIND:AMOUNT:REASON"),
        ("handling:5.00:x", "unknown kind 'handling'"),
        ("restocking_fee:5.001:x", "more decimal places than PLN allows"),
        ("restocking_fee:five:x", "not a decimal amount"),
    ],
)
def test_a_malformed_deduction_is_named_in_the_error(value: str, message: str) -> None:
    with pytest.raises(CliInputError, match=message):
        parse_deductions([value], "PLN")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--platform", "woocommerce", "--order", str(WOO_ORDER), "--line", "315"],
            "expected LINE_ID:QUANTITY",
        ),
        (
            ["--platform", "woocommerce", "--order", "/nonexistent/order.json", "--line", "315:1"],
            "cannot read",
        ),
        (
            [
                "--platform",
                "woocommerce",
                "--order",
                str(WOO_ORDER),
                "--line",
                "1:1",
                "--withdrawal",
                "--type",
                "return",
            ],
            "contradict",
        ),
    ],
)
def test_bad_input_exits_1_with_one_clear_line_and_no_traceback(args: list[str], message: str) -> None:
    result = run(*args)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: ")
    assert message in lines[0]
    assert result.stdout == ""


def test_a_file_that_is_not_json_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "order.json"
    bad.write_text("{not json", encoding="utf-8")
    result = run("--platform", "woocommerce", "--order", str(bad), "--line", "1:1")
    assert result.returncode == 1
    assert f"{bad}: not valid JSON" in result.stderr
    assert "Traceback" not in result.stderr


woocommerce = pytest.mark.skipif(
    not has_platform("woocommerce") or not shutil.which(str(AFTERSALES)),
    reason="the aftersales-woocommerce plugin is not installed (pip install -e plugins/aftersales-woocommerce)",
)


@woocommerce
def test_withdrawing_the_whole_woocommerce_sample_order_refunds_everything_with_delivery() -> None:
    result = run_installed(
        "--platform",
        "woocommerce",
        "--order",
        str(WOO_ORDER),
        "--line",
        "315:2",
        "--line",
        "316:1",
        "--withdrawal",
    )
    assert result.returncode == 0, result.stderr
    quote = json.loads(result.stdout)
    assert quote["total"] == "29.35"
    assert quote["currency"] == "USD"
    assert quote["shipping"] == "10.00"
    assert [(line["line_item_id"], line["amount"], line["tax"]) for line in quote["lines"]] == [
        ("315", "6.45", "0.45"),
        ("316", "12.90", "0.90"),
    ]
    assert quote["remaining"] == "0.00"
    assert quote["deductions"] == []
    assert quote["trace"]


@woocommerce
def test_a_woocommerce_partial_return_with_a_refused_restocking_fee() -> None:
    result = run(
        "--platform",
        "woocommerce",
        "--order",
        str(WOO_ORDER),
        "--line",
        "315:1",
        "--withdrawal",
        "--deduction",
        "restocking_fee:1.00:shelf",
    )
    assert result.returncode == 0, result.stderr
    quote = json.loads(result.stdout)
    assert quote["total"] == "3.23"  # 6.45 over two units: 3.23 + 3.22; no delivery on a partial withdrawal
    assert quote["shipping"] == "0.00"
    assert quote["refused_deductions"][0]["kind"] == "restocking_fee"
    assert "art. 34 u.p.k." in quote["refused_deductions"][0]["refused_because"]


@woocommerce
def test_a_line_of_another_order_is_refused_in_one_line() -> None:
    result = run_installed("--platform", "woocommerce", "--order", str(WOO_ORDER), "--line", "999:1")
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: line 999 is not part of order")


SHOPIFY_ORDER = DATA / "shopify_orders_create.json"
shopify = pytest.mark.skipif(
    not has_platform("shopify"),
    reason="the aftersales-shopify plugin is not installed (pip install -e plugins/aftersales-shopify)",
)


@shopify
def test_the_voided_shopify_sample_order_has_nothing_to_refund() -> None:
    result = run("--platform", "shopify", "--order", str(SHOPIFY_ORDER), "--line", "487817672276298554:1")
    assert result.returncode == 1
    assert "no captured payment (financial status voided)" in result.stderr


@shopify
def test_a_shopify_order_discount_kept_at_order_level_is_shared_by_the_returned_lines(tmp_path: Path) -> None:
    # The sample's 20.00 discount has no per-line allocation: a return must not refund it.
    payload = json.loads(SHOPIFY_ORDER.read_text(encoding="utf-8"))
    payload["financial_status"] = "paid"
    paid = tmp_path / "order.json"
    paid.write_text(json.dumps(payload), encoding="utf-8")
    lines = [f"{line['id']}:{line['quantity']}" for line in payload["line_items"]]
    first = run("--platform", "shopify", "--order", str(paid), "--line", lines[0], "--type", "return")
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["total"] == "85.65"  # 89.99 less its share of the 20.00
    every = [arg for line in lines for arg in ("--line", line)]
    whole = run("--platform", "shopify", "--order", str(paid), *every, "--withdrawal")
    assert whole.returncode == 0, whole.stderr
    quote = json.loads(whole.stdout)
    assert quote["total"] == payload["total_price"] == "404.95"
    assert quote["shipping"] == "10.00"
