"""Run every benchmark in this folder, collect their JSON into one report, print figures vs targets.

    .venv/bin/python benchmarks/run_all.py [--only NAME ...] [--quick] [--out report.json]

Each benchmark is a script of its own (``python benchmarks/<name>.py``) that prints a JSON object
and a summary; this runner starts them one after the other (never two at once: they measure a
shared machine), with the sizes issue 11 asks for, keeps their JSON, and prints one table of
the figures that have targets:

==========================  =================================  ==========
benchmark                   figure                             target
==========================  =================================  ==========
webhook_ingest              ingest / bare ASGI throughput       ≥ 0.5
webhook_ingest              p99 ack at the fixed rate           ≤ 25 ms
refund_latency              webhook → refund p95 (SQLite)       ≤ 1 s
restock_fanout              first wave at 1,000,000 subscribers ≤ 2 s
engine_throughput           PostgreSQL 2 workers / 1 worker     ≥ 1.6
policy_eval                 evaluations/s (no target)           —
==========================  =================================  ==========

It is not pass/fail: a missed target is marked in the table and the exit status is 0 unless a
benchmark could not run at all (1). Scripts found in this folder that the runner does not know
are run without arguments and their first JSON object is kept, so a new benchmark shows up in
the report before anyone teaches the runner its targets. ``--quick`` runs small sizes (the
restock fan-out at 100,000 subscribers, fewer jobs and samples) to check the runner itself.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Figure:
    """One figure of a benchmark's JSON checked against a target."""

    label: str
    read: Callable[[dict[str, Any]], float | None]
    target: float | None
    better: str
    """``higher`` or ``lower`` (or ``none`` without a target)."""
    unit: str = ""

    def verdict(self, value: float | None) -> str:
        if value is None:
            return "no figure"
        if self.target is None:
            return "—"
        met = value >= self.target if self.better == "higher" else value <= self.target
        return "met" if met else "MISSED"

    def target_text(self) -> str:
        if self.target is None:
            return "—"
        return f"{'≥' if self.better == 'higher' else '≤'} {_number(self.target)}{self.unit}"


@dataclass(frozen=True)
class Benchmark:
    name: str
    args: tuple[str, ...] = ()
    quick_args: tuple[str, ...] = ()
    figures: tuple[Figure, ...] = field(default_factory=tuple)
    timeout: float = 3600


def _get(*path: str) -> Callable[[dict[str, Any]], float | None]:
    def read(data: dict[str, Any]) -> float | None:
        value: Any = data
        for key in path:
            if not isinstance(value, dict) or key not in value:
                return None
            value = value[key]
        return float(value) if isinstance(value, int | float) else None

    return read


def _per_s(name: str) -> Callable[[dict[str, Any]], float | None]:
    return _get("evaluations", name, "per_s")


KNOWN: tuple[Benchmark, ...] = (
    Benchmark(
        "webhook_ingest",
        args=("--json",),
        quick_args=("--json", "--seconds", "2", "--latency-seconds", "3", "--requests", "8000"),
        figures=(
            Figure("ingest / bare ASGI throughput", _get("ratio"), 0.5, "higher", "×"),
            Figure("p99 ack at the fixed rate", _get("p99_ms"), 25.0, "lower", " ms"),
        ),
    ),
    Benchmark(
        "refund_latency",
        args=("--json",),
        quick_args=("--json", "--samples", "20", "--warmup", "2"),
        figures=(
            Figure("webhook → refund p50 (SQLite)", _get("latency_s", "p50"), None, "none", " s"),
            Figure("webhook → refund p95 (SQLite)", _get("latency_s", "p95"), 1.0, "lower", " s"),
        ),
    ),
    Benchmark(
        "restock_fanout",
        args=("--subscribers", "1000000", "--json"),
        quick_args=("--subscribers", "100000", "--json"),
        figures=(
            Figure("subscribers", _get("subscribers"), None, "none"),
            Figure("first restock wave", _get("first_wave_seconds"), 2.0, "lower", " s"),
            Figure("peak RSS", _get("peak_rss_mb"), 300.0, "lower", " MB"),
        ),
    ),
    Benchmark(
        "engine_throughput",
        args=(),
        quick_args=("--jobs", "300"),
        figures=(
            Figure("SQLite jobs/s (1 worker)", _get("sqlite_1_worker", "jobs_per_s"), None, "none"),
            Figure("PostgreSQL jobs/s (1 worker)", _get("postgres_1_worker", "jobs_per_s"), None, "none"),
            Figure("PostgreSQL jobs/s (2 workers)", _get("postgres_2_workers", "jobs_per_s"), None, "none"),
            Figure("PostgreSQL 2 workers / 1 worker", _get("ratio_2_vs_1_workers"), 1.6, "higher", "×"),
        ),
    ),
    Benchmark(
        "policy_eval",
        args=("--json",),
        quick_args=("--json", "--seconds", "0.3", "--repeat", "1"),
        figures=(
            Figure("policy (return eligibility) /s", _per_s("policy_return_eligibility"), None, "none"),
            Figure("law (withdrawal deadline) /s", _per_s("law_withdrawal_deadline"), None, "none"),
            Figure("promise (guarantee) /s", _per_s("promise_guarantee"), None, "none"),
            Figure(
                "trivial pydantic validations /s",
                _get("baselines", "pydantic_trivial_model", "per_s"),
                None,
                "none",
            ),
        ),
    ),
)


def discover() -> list[Benchmark]:
    """The known benchmarks in their order, then any other script of this folder."""
    present = {p.stem for p in HERE.glob("*.py") if not p.stem.startswith("_") and p.stem != "run_all"}
    known = [b for b in KNOWN if b.name in present]
    others = [Benchmark(name) for name in sorted(present - {b.name for b in KNOWN})]
    return known + others


def first_json(text: str) -> tuple[dict[str, Any] | None, str]:
    """The first JSON object in ``text`` and the text after it (scripts print JSON, then a summary)."""
    decoder = json.JSONDecoder()
    index = text.find("{")
    while index != -1:
        try:
            value, end = decoder.raw_decode(text, index)
        except ValueError:
            index = text.find("{", index + 1)
            continue
        if isinstance(value, dict):
            return value, text[end:]
        index = text.find("{", index + 1)
    return None, text


def run(benchmark: Benchmark, *, quick: bool) -> dict[str, Any]:
    args = benchmark.quick_args if quick and benchmark.quick_args else benchmark.args
    command = [sys.executable, str(HERE / f"{benchmark.name}.py"), *args]
    print(f"→ {benchmark.name} {' '.join(args)}", file=sys.stderr, flush=True)
    started = time.monotonic()
    entry: dict[str, Any] = {"command": " ".join(["python", f"benchmarks/{benchmark.name}.py", *args])}
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=benchmark.timeout, check=False, cwd=HERE.parent
        )
    except subprocess.TimeoutExpired:
        entry.update(ok=False, error=f"timed out after {benchmark.timeout:.0f} s")
        return entry
    entry["seconds"] = round(time.monotonic() - started, 1)
    entry["exit_status"] = done.returncode
    result, rest = first_json(done.stdout)
    if result is None:
        entry.update(ok=False, error=(done.stderr or done.stdout).strip()[-2000:] or "no JSON printed")
        return entry
    entry.update(ok=True, result=result)
    after = [line.strip() for line in rest.splitlines() if line.strip()]
    if not isinstance(result.get("summary"), str) and after:
        entry["summary"] = after[-1]  # a script that prints its one-line summary after the JSON
    if done.returncode != 0:
        entry["stderr_tail"] = done.stderr.strip()[-2000:]
    return entry


def _number(value: float) -> str:
    if value >= 1000:
        return f"{value:,.0f}"
    if value >= 100:
        return f"{value:.0f}"
    return f"{value:.3g}" if value < 10 else f"{value:.1f}"


def table(report: dict[str, Any], benchmarks: list[Benchmark]) -> list[str]:
    rows = [("benchmark", "figure", "value", "target", "verdict")]
    for benchmark in benchmarks:
        entry = report["benchmarks"].get(benchmark.name, {})
        if not entry.get("ok"):
            rows.append(
                (
                    benchmark.name,
                    "(did not run)",
                    "—",
                    "—",
                    str(entry.get("error", "?")).splitlines()[-1][:60],
                )
            )
            continue
        result = entry["result"]
        if not benchmark.figures:
            summary = str(result.get("summary") or "JSON kept in the report")
            rows.append((benchmark.name, summary[:70], "", "", ""))
        for figure in benchmark.figures:
            value = figure.read(result)
            shown = "—" if value is None else f"{_number(value)}{figure.unit}"
            rows.append((benchmark.name, figure.label, shown, figure.target_text(), figure.verdict(value)))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these benchmarks")
    parser.add_argument(
        "--quick", action="store_true", help="small sizes (checks the runner, not the targets)"
    )
    parser.add_argument(
        "--out", type=Path, help="write the report JSON here (default: a file in the temp dir)"
    )
    args = parser.parse_args(argv)

    benchmarks = discover()
    if args.only:
        unknown = sorted(set(args.only) - {b.name for b in benchmarks})
        if unknown:
            parser.error(f"no benchmark named {', '.join(unknown)} in {HERE}")
        benchmarks = [b for b in benchmarks if b.name in args.only]
    report: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": args.quick,
        "cpus": os.cpu_count(),
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
        "benchmarks": {},
    }
    for benchmark in benchmarks:
        report["benchmarks"][benchmark.name] = run(benchmark, quick=args.quick)
    report["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    summaries = {
        name: entry["result"].get("summary") or entry.get("summary")
        for name, entry in report["benchmarks"].items()
        if entry.get("ok") and (entry["result"].get("summary") or entry.get("summary"))
    }
    report["summaries"] = summaries
    out = (
        args.out or Path(tempfile.gettempdir()) / f"aftersales-bench-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    )
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    print("\n".join(table(report, benchmarks)))
    print()
    for name, text in summaries.items():
        print(f"{name}: {text}")
    print(
        f"\nreport: {out} (load average {report['loadavg_at_start'][0]:.1f} at start, {os.cpu_count()} CPUs)"
    )
    return 0 if all(entry.get("ok") for entry in report["benchmarks"].values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
