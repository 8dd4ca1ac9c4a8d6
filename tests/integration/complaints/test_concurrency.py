"""Eight clicks on "send" at the same instant, on SQLite and on PostgreSQL: one case, one acknowledgement."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from aftersales.engine.clock import ManualClock
from aftersales.engine.runtime import Runtime
from aftersales.plugins import load_plugins
from aftersales.store.models import CaseRow, OutboxMessage, Shop


def test_simultaneous_submissions_with_one_token_open_one_case(
    db_url: str, manual_clock: ManualClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AFTERSALES_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("AFTERSALES_SECRET_KEY", "race-secret")
    runtime = Runtime(db_url, clock=manual_clock, plugins=load_plugins(entrypoints=False)).launch(
        worker=False
    )
    try:
        with runtime.transaction() as session:
            session.add(Shop(id="race", platform="woocommerce", created_at=manual_clock.now()))
        barrier = threading.Barrier(8)
        answers: list[dict[str, Any]] = []
        errors: list[BaseException] = []

        def click() -> None:
            barrier.wait()
            try:
                answers.append(
                    runtime.execute_command(
                        "complaints.submit",
                        "race",
                        email="anna@example.com",
                        order_number="1001",
                        description="The kettle leaks.",
                        request_id="form-7f3a",
                        attachments=[
                            {"filename": "leak.png", "content": b"\x89PNG\r\n\x1a\n" + b"\x00" * 512}
                        ],
                    )
                )
            except BaseException as exc:  # collected and asserted below
                errors.append(exc)

        threads = [threading.Thread(target=click) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert errors == []
        assert len({a["case_number"] for a in answers}) == 1
        assert sorted(a["created"] for a in answers) == [False] * 7 + [True]
        with runtime.transaction() as session:
            assert session.scalar(select(func.count()).select_from(CaseRow)) == 1
            assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 2  # ack + order request
    finally:
        runtime.shutdown()
