"""Worker subprocesses (``aftersales worker``) with this folder's ``engine_jobs`` handlers, and waits.

Workers are real processes started from the installed console script, tuned for tests through
the ``AFTERSALES_*`` settings (fast sweeps and heartbeats, short leases), and killed with
SIGKILL where a test says so. Whatever a test leaves running is stopped afterwards.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
AFTERSALES = Path(sys.executable).with_name("aftersales")

FAST = {
    "AFTERSALES_SWEEP_SECONDS": "0.3",
    "AFTERSALES_SWEEP_GRACE_SECONDS": "1",
    "AFTERSALES_HEARTBEAT_SECONDS": "0.5",
    "AFTERSALES_EXECUTOR_DEAD_SECONDS": "6",
    "AFTERSALES_EFFECT_LEASE_SECONDS": "4",
    "AFTERSALES_RETRY_BASE_SECONDS": "0.3",
    "AFTERSALES_SHUTDOWN_GRACE_SECONDS": "1",
}


@dataclass
class Worker:
    executor_id: str
    process: subprocess.Popen[bytes]
    log: Path

    def kill(self) -> None:
        """SIGKILL: no cleanup, no goodbye, exactly like a crash or an OOM kill."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        return int(self.process.returncode)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator[Callable[..., Worker]]:
    started: list[Worker] = []

    def start(db_url: str, executor_id: str, *, concurrency: int = 16, **env: str) -> Worker:
        log = tmp_path / f"worker-{executor_id}-{len(started)}.log"
        environ = {
            **os.environ,
            **FAST,
            **env,
            "AFTERSALES_IMPORT": "engine_jobs",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")])),
        }
        with log.open("wb") as sink:
            process = subprocess.Popen(
                [
                    str(AFTERSALES),
                    "worker",
                    "--db",
                    db_url,
                    "--executor-id",
                    executor_id,
                    "--concurrency",
                    str(concurrency),
                ],
                stdout=sink,
                stderr=subprocess.STDOUT,
                env=environ,
                cwd=tmp_path,
            )
        worker = Worker(executor_id, process, log)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


def wait_for(what: str, check: Callable[[], Any], *, timeout: float, workers: tuple[Worker, ...] = ()) -> Any:
    """Poll ``check`` until it returns something truthy; fail with the workers' logs otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        for worker in workers:
            if worker.process.poll() is not None:
                pytest.fail(
                    f"worker {worker.executor_id} exited ({worker.process.returncode}):\n{worker.output()[-4000:]}"
                )
        time.sleep(0.25)
    logs = "\n".join(f"--- {w.executor_id}\n{w.output()[-3000:]}" for w in workers)
    pytest.fail(f"timed out after {timeout} s waiting for {what}\n{logs}")


@pytest.fixture
def wait() -> Callable[..., Any]:
    return wait_for
