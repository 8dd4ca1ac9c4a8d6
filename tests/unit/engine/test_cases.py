"""Cases through the StepContext: human numbers, compare-and-set, the event log, observers."""

from __future__ import annotations

import threading
from types import SimpleNamespace
from typing import Any

import pytest

from aftersales.domain import Authorization, CaseLine, CaseType, Customer, Settlement
from aftersales.engine.api import CaseConflict, Registry, StepContext
from aftersales.engine.context import StepContext as Ctx
from aftersales.engine.runtime import Runtime
from aftersales.store import cases as case_store
from aftersales.store.models import Shop


@pytest.fixture
def case_commands(handlers: Registry) -> Registry:
    @handlers.command("test.open")
    def open_case(ctx: StepContext, *, type: str = "withdrawal", ref: str | None = None) -> dict[str, Any]:
        case = ctx.open_case(
            type=type,
            status="requested",
            order_id="100",
            customer=Customer(email="Ann@Example.com", name="Ann"),
            lines=[CaseLine(line_item_id="1", quantity=2, reason="changed_mind")],
            reason="no reason needed",
            source="web",
            source_ref=ref,
        )
        return {"id": case.id, "number": case.number, "version": case.version}

    @handlers.command("test.approve")
    def approve(ctx: StepContext, *, case_id: str) -> dict[str, Any]:
        case = ctx.load_case(case_id)
        assert case is not None
        case.lines[0].authorization = Authorization.APPROVED
        case.data["approved_by"] = "rule:auto"
        case = ctx.transition(case, "approved", event="approve", actor="system", reason="inside the window")
        return {"version": case.version}

    return handlers


def test_numbers_are_per_shop_type_and_year_and_intake_is_deduplicated(
    runtime: Runtime, case_commands: Registry, kit: SimpleNamespace
) -> None:
    kit.add_shop(runtime, "shop-2")
    first = runtime.execute_command("test.open", "shop-1", ref="form-1")
    assert first["number"] == "W-2026-000001"
    assert runtime.execute_command("test.open", "shop-1", ref="form-1") == first
    assert runtime.execute_command("test.open", "shop-1", ref="form-2")["number"] == "W-2026-000002"
    assert runtime.execute_command("test.open", "shop-1", type="complaint")["number"] == "C-2026-000001"
    assert runtime.execute_command("test.open", "shop-1", type="return")["number"] == "R-2026-000001"
    assert (
        runtime.execute_command("test.open", "shop-1", type="guarantee_payout")["number"] == "G-2026-000001"
    )
    assert runtime.execute_command("test.open", "shop-2", ref="form-1")["number"] == "W-2026-000001"


def test_a_transition_is_saved_logged_and_observed_after_commit(
    runtime: Runtime, case_commands: Registry, observed: Any
) -> None:
    opened = runtime.execute_command("test.open", "shop-1", ref="r1")
    assert runtime.execute_command("test.approve", "shop-1", case_id=opened["id"]) == {"version": 2}

    with runtime.read_session() as session:
        case = case_store.get_case(session, "shop-1", opened["id"])
        assert case is not None
        assert (case.status, case.version, case.customer.email, case.reason) == (
            "approved",
            2,
            "Ann@Example.com",
            "no reason needed",
        )
        assert case.lines[0].authorization is Authorization.APPROVED
        assert case.lines[0].quantity == 2
        assert case.data == {"approved_by": "rule:auto"}
        events = [
            (e.event, e.from_status, e.to_status, e.actor) for e in case_store.timeline(session, case.id)
        ]
        assert events == [
            ("opened", None, "requested", "system"),
            ("approve", "requested", "approved", "system"),
        ]
        assert (
            case_store.get_case(session, "shop-2", opened["id"]) is None
        )  # another shop's case is invisible
    assert observed.transitions == [
        ("W-2026-000001", "", "requested", "opened"),
        ("W-2026-000001", "requested", "approved", "approve"),
    ]


def test_a_rolled_back_step_is_never_observed(runtime: Runtime, handlers: Registry, observed: Any) -> None:
    @handlers.command("test.fails")
    def fails(ctx: StepContext) -> dict[str, Any]:
        ctx.open_case(type=CaseType.COMPLAINT, status="received")
        raise RuntimeError("decision hook failed")

    with pytest.raises(RuntimeError):
        runtime.execute_command("test.fails", "shop-1")
    assert observed.transitions == []
    with runtime.read_session() as session:
        assert case_store.list_cases(session) == []


def test_compare_and_set_refuses_a_stale_case(runtime: Runtime, case_commands: Registry) -> None:
    opened = runtime.execute_command("test.open", "shop-1")
    with runtime.transaction() as session:
        shop = session.get(Shop, "shop-1")
        assert shop is not None
        stale = Ctx(session, runtime, shop).load_case(opened["id"])
    runtime.execute_command("test.approve", "shop-1", case_id=opened["id"])

    assert stale is not None and stale.version == 1
    stale.lines[0].settlement = Settlement.SUCCEEDED
    with runtime.transaction() as session:
        shop = session.get(Shop, "shop-1")
        assert shop is not None
        ctx = Ctx(session, runtime, shop)
        with pytest.raises(CaseConflict, match="changed since it was read"):
            ctx.save_case(stale)


@pytest.mark.postgres
def test_two_transactions_racing_on_one_case_one_wins(
    make_runtime: Any, pg_url: str, case_commands: Registry, kit: SimpleNamespace
) -> None:
    """Both read version 1; the second UPDATE ... WHERE version = 1 matches no row."""
    rt = make_runtime(pg_url)
    kit.add_shop(rt)
    opened = rt.execute_command("test.open", "shop-1")
    read = threading.Barrier(2)
    results: list[str] = []

    def move(status: str) -> None:
        try:
            with rt.transaction() as session:
                shop = session.get(Shop, "shop-1")
                assert shop is not None
                ctx = Ctx(session, rt, shop)
                case = ctx.load_case(opened["id"])
                assert case is not None
                read.wait()  # both have read version 1
                ctx.transition(case, status, event=status)
            results.append(status)
        except CaseConflict:
            results.append("conflict")

    threads = [threading.Thread(target=move, args=(s,)) for s in ("approved", "declined")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count("conflict") == 1
    assert len({"approved", "declined"} & set(results)) == 1
    with rt.read_session() as session:
        case = case_store.get_case(session, "shop-1", opened["id"])
        assert case is not None and case.version == 2
        assert len(case_store.timeline(session, case.id)) == 2


@pytest.mark.parametrize("db", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_case_numbers_stay_unique_and_gapless_under_concurrency(
    db: str, request: pytest.FixtureRequest, make_runtime: Any, case_commands: Registry, kit: SimpleNamespace
) -> None:
    rt = make_runtime(request.getfixturevalue("sqlite_url" if db == "sqlite" else "pg_url"))
    kit.add_shop(rt)
    numbers: list[str] = []
    lock = threading.Lock()

    def open_many() -> None:
        for _ in range(15):
            number = rt.execute_command("test.open", "shop-1")["number"]
            with lock:
                numbers.append(number)

    threads = [threading.Thread(target=open_many) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(numbers) == [f"W-2026-{n:06d}" for n in range(1, 91)]
