"""The demo's running order and its failure reporting, without booting the stage.

A scenario that fails or is not available must be reported with its reason while the others
still run, and the engine clock must visit every moment a scenario waits for, in order.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from rich.console import Console

from aftersales.demo.runner import play
from aftersales.demo.scenario import Outcome, Scenario
from aftersales.demo.stage import NotAvailable, ScenarioFailed
from aftersales.demo.summary import table

T0 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)


class StubStage:
    def __init__(self, broken: dict[str, str] | None = None) -> None:
        self.clock = T0
        self.visited: list[datetime] = []
        self.broken = broken or {}

    def now(self) -> datetime:
        return self.clock

    def settle(self) -> None:
        pass

    def advance_to(self, moment: datetime) -> None:
        self.visited.append(moment)
        self.clock = max(self.clock, moment)


class Passes(Scenario):
    key, title, platform = "passes", "A story that works", "WooCommerce"
    workflow = "returns"

    def start(self, stage: Any) -> None:
        pass

    def conclude(self, stage: Any) -> Outcome:
        return self.outcome(ok=True, case="W-1", happened="requested → refunded")


class Waits(Scenario):
    """Waits for two timers; acts between them, as the restock scenario does."""

    key, title, platform = "waits", "A story with timers", "Shopify"
    workflow = "returns"
    due = (T0 + timedelta(days=14), T0 + timedelta(hours=1))

    def __init__(self) -> None:
        self.woken: list[datetime] = []

    def start(self, stage: Any) -> None:
        pass

    def wake_at(self, stage: Any) -> datetime | None:
        later = [d for d in self.due if d > stage.now()]
        return min(later) if later else None

    def woke(self, stage: Any) -> None:
        self.woken.append(stage.now())

    def conclude(self, stage: Any) -> Outcome:
        return self.outcome(ok=True, case="C-1", happened=f"woken {len(self.woken)} times")


class Missing(Scenario):
    key, title, platform = "missing", "A story whose workflow is not built", "Shopify"
    workflow = "returns"

    def start(self, stage: Any) -> None:
        raise NotAvailable("command 'complaints.submit' is not registered by any workflow")

    def conclude(self, stage: Any) -> Outcome:
        raise AssertionError("a scenario that could not start is not concluded")


class Breaks(Scenario):
    key, title, platform = "breaks", "A story that goes wrong", "WooCommerce"
    workflow = "returns"

    def start(self, stage: Any) -> None:
        pass

    def conclude(self, stage: Any) -> Outcome:
        raise ScenarioFailed("withdrawal W-2 was not refunded: it is refund_pending")


def test_failures_are_reported_with_their_reason_and_the_others_still_run() -> None:
    stage = StubStage()
    waits = Waits()
    outcomes = play(stage, [Passes(), Missing(), waits, Breaks()], lambda _: None)  # type: ignore[arg-type]
    by_key = {o.key: o for o in outcomes}
    assert [o.key for o in outcomes] == ["passes", "missing", "waits", "breaks"]
    assert by_key["passes"].ok and by_key["waits"].ok
    assert not by_key["missing"].ok and not by_key["missing"].available
    assert "complaints.submit" in (by_key["missing"].problem or "")
    assert not by_key["breaks"].ok and by_key["breaks"].available
    assert by_key["breaks"].problem == "withdrawal W-2 was not refunded: it is refund_pending"


def test_the_clock_visits_each_waiting_moment_in_order() -> None:
    stage = StubStage()
    waits = Waits()
    play(stage, [waits], lambda _: None)  # type: ignore[arg-type]
    assert stage.visited == [T0 + timedelta(hours=1), T0 + timedelta(days=14)]
    assert waits.woken == stage.visited


def test_a_workflow_that_does_not_import_makes_its_stories_unavailable_not_the_demo() -> None:
    error = "aftersales.workflows.complaints does not import: SyntaxError: invalid syntax"
    stage = StubStage(broken={"complaints": error})

    class Complaint(Passes):
        key, workflow = "complaint", "complaints"

    outcomes = play(stage, [Passes(), Complaint()], lambda _: None)  # type: ignore[arg-type]
    assert [(o.key, o.ok, o.available, o.problem) for o in outcomes] == [
        ("passes", True, True, None),
        ("complaint", False, False, f"not available: {error}"),
    ]


def test_the_table_shows_a_failure_in_words() -> None:
    console = Console(record=True, width=200)
    console.print(
        table(
            [
                Outcome(
                    key="a", title="Withdrawal", platform="WooCommerce", ok=True, case="W-1", happened="ok"
                ),
                Outcome(
                    key="b",
                    title="Complaint",
                    platform="Shopify",
                    ok=False,
                    available=False,
                    problem="command 'complaints.submit' is not registered",
                ),
            ]
        )
    )
    text = console.export_text()
    assert "not available: command 'complaints.submit' is not registered" in text
    assert "W-1" in text
