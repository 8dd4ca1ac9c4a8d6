"""The demo's running order: start every scenario, move the clock, conclude every scenario.

A scenario that raises is reported, not fatal: the others still run, the summary shows which
one failed and why, and the command exits 1. A scenario whose workflow is not part of this
build (:class:`~aftersales.demo.stage.NotAvailable`) is reported as "not available" and also
fails the run — the demo never fakes a result.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from functools import partial

import structlog

from aftersales.demo.scenario import Outcome, Scenario
from aftersales.demo.stage import NotAvailable, ScenarioFailed, Stage

log = structlog.get_logger("aftersales.demo")


def _failure(scenario: Scenario, exc: BaseException) -> Outcome:
    if isinstance(exc, NotAvailable):
        return scenario.outcome(ok=False, available=False, problem=f"not available: {exc}")
    if isinstance(exc, ScenarioFailed):
        return scenario.outcome(ok=False, problem=str(exc))
    return scenario.outcome(ok=False, problem=f"{type(exc).__name__}: {exc}")


def _safely(scenario: Scenario, step: Callable[[], object], failed: dict[str, Outcome]) -> object:
    try:
        return step()
    except Exception as exc:
        log.debug("scenario_failed", scenario=scenario.key, exc_info=True)
        failed[scenario.key] = _failure(scenario, exc)
        return None


def play(stage: Stage, scenarios: Sequence[Scenario], say: Callable[[str], None]) -> list[Outcome]:
    """Run ``scenarios`` on ``stage``; one outcome per scenario, in the given order."""
    failed: dict[str, Outcome] = {}
    broken: dict[str, str] = getattr(stage, "broken", {})
    for scenario in scenarios:
        if scenario.workflow in broken:
            failed[scenario.key] = _failure(scenario, NotAvailable(broken[scenario.workflow]))
            continue
        say(f"▶ {scenario.title} ({scenario.platform})")
        _safely(scenario, partial(scenario.start, stage), failed)
    _settle(stage, say)

    # Move the engine clock to each moment a scenario waits for, earliest first, and let the
    # worker's sweeper fire the timers that fell due (what happens in production days later).
    asked: set[tuple[str, datetime]] = set()
    while True:
        pending: list[tuple[datetime, Scenario]] = []
        for scenario in scenarios:
            if scenario.key in failed:
                continue
            moment = _safely(scenario, partial(scenario.wake_at, stage), failed)
            if isinstance(moment, datetime) and moment > stage.now() and (scenario.key, moment) not in asked:
                pending.append((moment, scenario))
        if not pending:
            break
        moment, scenario = min(pending, key=lambda item: item[0])
        asked.add((scenario.key, moment))
        say(f"⏩ engine clock {_span(moment - stage.now())} → {moment:%Y-%m-%d %H:%M} UTC ({scenario.title})")
        _safely(scenario, partial(stage.advance_to, moment), failed)
        _safely(scenario, partial(scenario.woke, stage), failed)

    outcomes: list[Outcome] = []
    for scenario in scenarios:
        if scenario.key not in failed:
            result = _safely(scenario, partial(scenario.conclude, stage), failed)
            if isinstance(result, Outcome):
                outcomes.append(result)
                continue
        outcomes.append(failed[scenario.key])
    return outcomes


def _span(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 120:
        return f"+{minutes} min"
    if minutes < 48 * 60:
        return f"+{minutes / 60:.1f} h"
    return f"+{minutes / 1440:.1f} days"


def _settle(stage: Stage, say: Callable[[str], None]) -> None:
    """Let the worker finish what the scenarios started; a scenario that misses its state says so."""
    try:
        stage.settle()
    except ScenarioFailed as exc:
        say(f"! {exc}")
