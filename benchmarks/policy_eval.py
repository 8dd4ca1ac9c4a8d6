"""Policy, law and promise evaluations per second, against baselines measured in the same run.

    .venv/bin/python benchmarks/policy_eval.py [--seconds 1.0] [--repeat 3] [--json]

What is evaluated is what the workflows evaluate, with the example Polish policy
(``examples/policies/pl-shop.yaml``) and an order as the WooCommerce plugin normalizes it:

- ``policy``: the ``aftersales_return_eligibility`` decision hook through the plugin manager
  (pluggy; the built-in plugin applies the windows, excluded tags and auto-approval of the
  policy), then the statutory floor — for commercial returns with varying delivery and
  statement dates, so some are inside the windows and some not;
- ``law``: the statutory withdrawal deadline (``law.withdrawal_last_day``: 14 days from
  delivery, shifted past Polish public holidays and weekends, with its reasoning trace) for
  delivery dates spread over a year;
- ``promise``: the shipping-guarantee promise (``promise_for_policy``: cut-off, handling days,
  peak season, closures, business calendar) for payment times spread over a year.

Baselines, through the same measuring loop: a bare Python function call, and pydantic
validation of a trivial two-field model (the cost floor of anything that builds a domain
model). ``ratio_to_pydantic`` = evaluations/s ÷ trivial validations/s. Each figure is the best
of ``--repeat`` runs of ``--seconds`` (as ``timeit`` does: the least disturbed run).

Prints JSON and a one-line summary. Not pass/fail: there is no target in issue 11 beyond
"report the figure"; the numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from aftersales.domain import Case, CaseLine, CaseType, Order, OrderData
from aftersales.law.clocks import withdrawal_last_day
from aftersales.plugins import Plugins, load_plugins
from aftersales.policy import load_policy
from aftersales.policy.schema import Policy
from aftersales.workflows.promise import promise_for_policy
from aftersales.workflows.returns.eligibility import (
    RETURN_WINDOW,
    STATEMENT_AT,
    WITHDRAWAL_WINDOW,
    apply_statutory_floor,
)
from aftersales_woocommerce.testing import sample_order

POLICY = Path(__file__).resolve().parents[1] / "examples" / "policies" / "pl-shop.yaml"
START = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)


class Trivial(BaseModel):
    a: int
    b: str


def _order(plugins: Plugins) -> Order:
    """The wc/v3 sample order in PLN, as the WooCommerce plugin turns a webhook into an Order."""
    event = plugins.platform("woocommerce").normalize("order.updated", sample_order(currency="PLN"))
    assert isinstance(event.data, OrderData)
    return event.data.order


def _cases(order: Order, count: int) -> list[Case]:
    """Commercial returns of one unit, delivered and stated on varying days (inside and outside)."""
    line = order.line_items[0]
    cases = []
    for n in range(count):
        delivered = START + timedelta(days=n * 5)
        stated = delivered + timedelta(days=(n * 7) % 45, hours=n % 9)
        cases.append(
            Case(
                id=f"case-{n}",
                number=f"R-2026-{n:06d}",
                shop_id="bench",
                type=CaseType.RETURN,
                status="requested",
                order_id=order.id,
                lines=[CaseLine(line_item_id=line.id, reason="changed_mind" if n % 3 else "damaged")],
                opened_at=stated,
                deadlines={
                    WITHDRAWAL_WINDOW: delivered + timedelta(days=15),
                    RETURN_WINDOW: delivered + timedelta(days=31),
                },
                data={STATEMENT_AT: stated.isoformat()},
            )
        )
    return cases


def best_rate(
    func: Callable[[Any], object], inputs: Sequence[Any], seconds: float, repeat: int
) -> dict[str, float]:
    """Calls per second of ``func`` over ``inputs`` (cycled), best of ``repeat`` runs of ``seconds``."""
    best = float("inf")
    for _ in range(repeat):
        calls = 0
        started = time.perf_counter()
        while True:
            for item in inputs:
                func(item)
            calls += len(inputs)
            elapsed = time.perf_counter() - started
            if elapsed >= seconds:
                break
        best = min(best, elapsed / calls)
    return {"per_s": round(1 / best, 1), "us_each": round(best * 1e6, 3)}


def measure(seconds: float, repeat: int) -> dict[str, Any]:
    plugins = load_plugins()
    policy: Policy = load_policy(POLICY)
    order = _order(plugins)
    cases = _cases(order, 64)
    deliveries = [START + timedelta(days=n, hours=n % 24) for n in range(365)]
    payments = [START + timedelta(days=n, hours=(n * 5) % 24, minutes=n % 60) for n in range(365)]

    def eligibility(case: Case) -> object:
        answer = plugins.return_eligibility(case, order, policy)
        assert answer is not None
        return apply_statutory_floor(case, answer)

    def law(delivered: datetime) -> object:
        return withdrawal_last_day(delivered, profile="PL", timezone="Europe/Warsaw")

    def promise(paid: datetime) -> object:
        return promise_for_policy(policy, paid_at=paid, ordered_at=paid, shipping_zone="PL")

    def call(value: object) -> object:
        return value

    payload = {"a": 1, "b": "x"}
    load_before = os.getloadavg()
    baselines = {
        "function_call": best_rate(call, list(range(64)), seconds, repeat),
        "pydantic_trivial_model": best_rate(
            lambda _: Trivial.model_validate(payload), list(range(64)), seconds, repeat
        ),
    }
    evaluations = {
        "policy_return_eligibility": best_rate(eligibility, cases, seconds, repeat),
        "law_withdrawal_deadline": best_rate(law, deliveries, seconds, repeat),
        "promise_guarantee": best_rate(promise, payments, seconds, repeat),
    }
    floor = baselines["pydantic_trivial_model"]["per_s"]
    call_rate = baselines["function_call"]["per_s"]
    for figures in evaluations.values():
        figures["ratio_to_pydantic"] = round(figures["per_s"] / floor, 4)
        figures["ratio_to_function_call"] = round(figures["per_s"] / call_rate, 6)
    return {
        "benchmark": "policy / law / promise evaluations per second (one thread)",
        "policy_file": str(POLICY.relative_to(POLICY.parents[2])),
        "evaluations": evaluations,
        "baselines": baselines,
        "seconds": seconds,
        "repeat": repeat,
        "cpus": os.cpu_count(),
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
    }


def summary(result: dict[str, Any]) -> str:
    ev = result["evaluations"]
    floor = result["baselines"]["pydantic_trivial_model"]["per_s"]
    parts = [
        f"{name.split('_')[0]} {figures['per_s']:,.0f}/s (×{figures['ratio_to_pydantic']:.3f} of a trivial pydantic validation)"
        for name, figures in ev.items()
    ]
    return f"evaluations: {'; '.join(parts)}; baseline {floor:,.0f} validations/s; load average {result['loadavg_before'][0]:.1f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=1.0, help="length of one measuring run")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (the best counts)")
    parser.add_argument("--json", action="store_true", help="only the JSON result, on one line")
    args = parser.parse_args(argv)
    result = measure(args.seconds, args.repeat)
    result["summary"] = summary(result)
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        print(json.dumps(result, indent=2, ensure_ascii=False))
        print(result["summary"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
