"""The engine's commands as an operator runs them: db upgrade/downgrade, cases list/show, a worker
facing a database that is down."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from typer.testing import CliRunner

from aftersales.cli import app
from aftersales.domain import CaseLine, CaseType, Customer
from aftersales.engine.context import StepContext
from aftersales.engine.runtime import Runtime
from aftersales.store.models import Shop

AFTERSALES = str(Path(sys.executable).with_name("aftersales"))


class Done:
    def __init__(self, returncode: int, stdout: str, stderr: str) -> None:
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def run(*args: str) -> Done:
    """The command in this process (the console script is exercised by the worker test below)."""
    result = CliRunner().invoke(app, list(args), terminal_width=200)
    return Done(result.exit_code, result.stdout, result.stderr)


def test_db_upgrade_downgrade_and_current(sqlite_url: str) -> None:
    done = run("db", "upgrade", "--db", sqlite_url)
    assert done.returncode == 0, done.stderr
    assert "is at revision 0001" in done.stdout
    state = run("db", "current", "--db", sqlite_url, "--json")
    assert json.loads(state.stdout) == {"current": "0001", "head": "0001", "up_to_date": True}
    down = run("db", "downgrade", "base", "--db", sqlite_url)
    assert down.returncode == 0 and "at revision base" in down.stdout
    empty = run("cases", "list", "--db", sqlite_url)
    assert empty.returncode == 1 and "aftersales db upgrade" in empty.stderr


def test_cases_list_and_show_with_the_timeline(sqlite_url: str) -> None:
    rt = Runtime(sqlite_url, workflows=()).launch(worker=False)
    with rt.transaction() as session:
        shop = Shop(id="pl-shop", platform="woocommerce", created_at=rt.clock.now())
        session.add(shop)
        session.flush()
        ctx = StepContext(session, rt, shop)
        case = ctx.open_case(
            type=CaseType.WITHDRAWAL,
            status="requested",
            order_id="1001",
            customer=Customer(email="ann@example.com"),
            lines=[CaseLine(line_item_id="7", quantity=1)],
        )
        ctx.transition(case, "approved", event="approve", reason="inside the 14 days")
        ctx.open_case(type=CaseType.COMPLAINT, status="received")
    rt.shutdown()

    listed = run("cases", "list", "--db", sqlite_url, "--json")
    assert listed.returncode == 0, listed.stderr
    assert sorted((c["number"], c["status"]) for c in json.loads(listed.stdout)) == [
        ("C-2026-000001", "received"),
        ("W-2026-000001", "approved"),
    ]
    only = run("cases", "list", "--db", sqlite_url, "--json", "--status", "approved", "--shop", "pl-shop")
    assert [c["number"] for c in json.loads(only.stdout)] == ["W-2026-000001"]

    shown = run("cases", "show", "W-2026-000001", "--db", sqlite_url, "--json")
    detail = json.loads(shown.stdout)
    assert (detail["status"], detail["order_id"], detail["version"]) == ("approved", "1001", 2)
    assert [(e["event"], e["from"], e["to"]) for e in detail["timeline"]] == [
        ("opened", None, "requested"),
        ("approve", "requested", "approved"),
    ]
    table = run("cases", "show", "W-2026-000001", "--db", sqlite_url)
    assert table.returncode == 0 and "approve" in table.stdout and "inside the 14" in table.stdout
    missing = run("cases", "show", "W-2026-999999", "--db", sqlite_url)
    assert missing.returncode == 1 and "no case W-2026-999999" in missing.stderr


def test_a_worker_facing_a_database_that_is_down_exits_at_once_with_the_reason() -> None:
    started = time.monotonic()
    done = subprocess.run(
        [AFTERSALES, "worker", "--db", "postgresql://postgres@127.0.0.1:1/test"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2
    assert "cannot reach the database" in done.stderr and "Traceback" not in done.stderr
    assert time.monotonic() - started < 20


def test_serve_runs_web_and_worker_in_one_process_on_one_sqlite_file(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    db = f"sqlite:///{tmp_path / 'embedded.db'}"
    log = (tmp_path / "serve.log").open("wb")
    server = subprocess.Popen(
        [AFTERSALES, "serve", "--db", db, "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=tmp_path,
    )
    try:
        deadline = time.monotonic() + 60
        ready = None
        while time.monotonic() < deadline and server.poll() is None:
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        assert ready is not None, (tmp_path / "serve.log").read_text()
        assert ready.status_code == 200, ready.text
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
        assert (tmp_path / "embedded.dbos.db").exists()  # the worker's queue, beside the database
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) == 0, (tmp_path / "serve.log").read_text()
    state = run("db", "current", "--db", db, "--json")
    assert json.loads(state.stdout)["up_to_date"] is True
