"""The runtime's edges: commands, settings, the clock, workflow imports, executor ids."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from aftersales.engine import executors
from aftersales.engine.api import ManualClock, Registry, StepContext, UnknownCommand, UnknownShop
from aftersales.engine.runtime import Runtime, env_modules, import_workflows
from aftersales.engine.settings import EngineSettings
from aftersales.store.models import EngineExecutor, Shop


def test_unknown_commands_and_shops_are_named(runtime: Runtime, handlers: Registry) -> None:
    @handlers.command("test.echo")
    def echo(ctx: StepContext, **payload: Any) -> dict[str, Any]:
        return {"shop": ctx.shop_id, "platform": ctx.platform, **payload}

    assert runtime.execute_command("test.echo", "shop-1", a=1) == {
        "shop": "shop-1",
        "platform": "fake",
        "a": 1,
    }
    with pytest.raises(UnknownCommand, match=r"test\.missing"):
        runtime.execute_command("test.missing", "shop-1")
    with pytest.raises(UnknownShop, match="nope"):
        runtime.execute_command("test.echo", "nope")
    with pytest.raises(ValueError, match="already registered"):
        handlers.command("test.echo")(lambda ctx: {})


def test_an_inline_runtime_does_not_sweep(runtime: Runtime) -> None:
    with pytest.raises(RuntimeError, match="run_until_idle"):
        runtime.sweep()


def test_settings_come_from_the_environment_and_back_off_exponentially() -> None:
    settings = EngineSettings.from_env(
        {"AFTERSALES_SWEEP_SECONDS": "0.5", "AFTERSALES_MAX_ATTEMPTS": "4"}, concurrency=3
    )
    assert (settings.sweep_interval, settings.max_attempts, settings.concurrency) == (0.5, 4, 3)
    assert [settings.backoff(n).total_seconds() for n in (1, 2, 3)] == [2.0, 4.0, 8.0]
    assert settings.backoff(40) == timedelta(seconds=settings.retry_cap)
    with pytest.raises(ValueError, match="AFTERSALES_WORKER_CONCURRENCY"):
        EngineSettings.from_env({"AFTERSALES_WORKER_CONCURRENCY": "many"})
    with pytest.raises(ValueError, match="dead_after"):
        EngineSettings.from_env({"AFTERSALES_EXECUTOR_DEAD_SECONDS": "1"})


def test_the_manual_clock_moves_only_forward_and_only_when_told() -> None:
    clock = ManualClock(datetime(2026, 12, 23, 23, 30, tzinfo=UTC))
    assert clock.advance(timedelta(hours=1)) == datetime(2026, 12, 24, 0, 30, tzinfo=UTC)
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(timedelta(seconds=-1))
    with pytest.raises(ValueError, match="aware"):
        clock.set(datetime(2026, 1, 1))


def test_handler_modules_are_imported_from_packages_and_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, handlers: Registry
) -> None:
    package = tmp_path / "shopflows"
    (package / "deep").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "deep" / "__init__.py").write_text("")
    (package / "deep" / "handlers.py").write_text(
        "from aftersales.engine.api import registry\n"
        "@registry.command('shopflows.ping')\n"
        "def ping(ctx):\n    return {'pong': True}\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("AFTERSALES_IMPORT", " shopflows.deep.handlers , json ")
    assert env_modules() == ["shopflows.deep.handlers", "json"]
    assert import_workflows(["shopflows"]) == ["shopflows", "shopflows.deep", "shopflows.deep.handlers"]
    assert "shopflows.ping" in handlers.commands()


def test_an_executor_id_held_by_a_live_process_is_refused_and_a_dead_one_taken_over(runtime: Runtime) -> None:
    sessions = runtime.sessions
    assert executors.claim(sessions, "worker-a", "first", dead_after=30) == "worker-a"
    with pytest.raises(executors.ExecutorIdInUse, match="worker-a"):
        executors.claim(sessions, "worker-a", "second", dead_after=30)
    assert executors.claim(sessions, None, "third", dead_after=30) == f"{executors.hostname()}-1"

    # worker-a stops heartbeating; another worker takes it over (once)
    with runtime.transaction() as session:
        row = session.get(EngineExecutor, "worker-a")
        assert row is not None
        row.heartbeat_at = datetime.now(UTC) - timedelta(minutes=5)
    me = f"{executors.hostname()}-1"
    assert executors.claim_dead(sessions, me, dead_after=30) == ["worker-a"]
    assert executors.claim_dead(sessions, me, dead_after=30) == []
    # ...and a process started again with the same id gets it back
    assert executors.claim(sessions, "worker-a", "fourth", dead_after=30) == "worker-a"
    assert executors.heartbeat(sessions, "worker-a", "fourth")
    assert not executors.heartbeat(sessions, "worker-a", "first")


def test_a_killed_process_on_this_host_frees_its_id_at_once(runtime: Runtime) -> None:
    sessions = runtime.sessions
    executors.claim(sessions, "worker-k", "before", dead_after=30)
    with runtime.transaction() as session:
        row = session.get(EngineExecutor, "worker-k")
        assert row is not None
        row.pid = _a_pid_that_is_not_running()
    assert executors.claim(sessions, "worker-k", "after", dead_after=30) == "worker-k"


def _a_pid_that_is_not_running() -> int:
    pid = 2**22 - 1
    while pid > 1:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return pid
        except PermissionError:
            pass
        pid -= 1
    raise AssertionError("every pid is in use")


def test_a_step_reads_the_shops_own_policy_and_lawful_defaults_without_one(
    runtime: Runtime, handlers: Registry, tmp_path: Path
) -> None:
    @handlers.command("test.policy")
    def policy(ctx: StepContext) -> dict[str, Any]:
        return {"name": ctx.policy.shop.name, "window": ctx.policy.returns.window_days}

    assert runtime.execute_command("test.policy", "shop-1")["name"] == "shop-1"
    path = tmp_path / "policy.yaml"
    path.write_text(
        "shop: {name: Sklep, jurisdiction: PL, currency: PLN, timezone: Europe/Warsaw}\nreturns: {window_days: 30}\n"
    )
    with runtime.transaction() as session:
        shop = session.get(Shop, "shop-1")
        assert shop is not None
        shop.policy_path = str(path)
    assert runtime.execute_command("test.policy", "shop-1") == {"name": "Sklep", "window": 30}
    path.write_text(path.read_text().replace("30", "45"))
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 1_000_000_000))
    assert runtime.execute_command("test.policy", "shop-1") == {"name": "Sklep", "window": 45}
