"""Back-in-stock fan-out: one variant, N confirmed subscribers, a restock of U units.

    .venv/bin/python benchmarks/restock_fanout.py --subscribers 1000000 --units 1000 --json

What it measures, in a fresh embedded SQLite database, through the real engine (an inline
``Runtime`` with the restock workflow, the WooCommerce plugin against its fake shop over
HTTP, the built-in e-mail channel):

- ``first_wave_seconds``: the engine's job for the restock webhook's inbox row, start to
  commit — normalize the WooCommerce ``product.updated`` body, open the episode, re-read the
  stock from the shop, count the queue, size the wave through the plugin hook, and write
  ``restock_messages`` plus rendered outbox rows (Jinja) for ``units × per_unit`` subscribers;
- ``messages`` / ``messages_per_second``: those alerts sent by the engine's outbox job (as its
  workers run it, ``--senders`` at a time): MIME e-mail, real SMTP to an aiosmtpd sink in a
  separate process, the row marked sent and the alert counted as delivered — end to end from
  the restock (``send_messages_per_second``: the sending part alone);
- ``first_wave_cpu_seconds`` (this process's CPU time over the same span) and
  ``load_average`` tell a slow machine from a slow wave on a shared host;
- ``peak_rss_mb``: ``getrusage`` peak of this process during the restock and sending. The
  N subscriptions are written by a child process (fast bulk insert with the schema's
  indexes in place), so the figure is what the restock itself needs, not the fixture.

The targets (DESIGN §9, issue 10) at N = 1,000,000: first wave ≤ 2 s, peak RSS ≤ 300 MB.
Benchmarks are not pass/fail; ``--check`` exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

VARIANT_PRODUCT = 500
VARIANT_ID = 501
SHOP = "bench"
T0 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)


# -- the SMTP sink (its own process: what it keeps must not count in our RSS) -----------------------


class _CountingHandler:
    def __init__(self, counter: Any) -> None:
        self.counter = counter

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.counter.get_lock():
            self.counter.value += 1
        return "250 OK"


def _sink_main(port: int, counter: Any, ready: Any, stop: Any) -> None:
    from aiosmtpd.controller import Controller

    # server_hostname: otherwise aiosmtpd looks up the FQDN (reverse DNS) for every connection
    controller = Controller(
        _CountingHandler(counter), hostname="127.0.0.1", port=port, server_hostname="sink.local"
    )
    controller.start()
    ready.set()
    stop.wait()
    controller.stop()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- building the subscribers (child process) ------------------------------------------------------


def _rows(n: int) -> Iterator[tuple[Any, ...]]:
    fmt = "%Y-%m-%d %H:%M:%S.%f"  # SQLAlchemy's SQLite DATETIME storage format (UTC)
    for i in range(n):
        at = (T0 + timedelta(milliseconds=i)).strftime(fmt)
        yield (SHOP, str(VARIANT_ID), str(VARIANT_PRODUCT), f"s{i:07d}@example.com", "email", "pl", "confirmed",
               at, at, None, None, None)  # fmt: skip


def _build(path: str, n: int) -> None:
    from aftersales.store.migrate import upgrade

    upgrade(f"sqlite:///{path}")
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-200000")
    sql = (
        "INSERT INTO subscriptions (shop_id, variant_id, product_id, email, channel, locale, status, "
        "created_at, confirmed_at, unsubscribed_at, consent, last_episode_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"
    )
    rows = _rows(n)
    while True:
        chunk = [row for _, row in zip(range(100_000), rows, strict=False)]
        if not chunk:
            break
        conn.executemany(sql, chunk)
        conn.commit()
    conn.execute("ANALYZE")
    conn.commit()
    conn.close()


# -- the run ----------------------------------------------------------------------------------------

POLICY = """
shop: {{name: Bench shop, jurisdiction: PL, currency: PLN, timezone: Europe/Warsaw}}
restock:
  double_opt_in: true
  wave: {{per_unit: {per_unit}, interval: 1h, recheck_stock: true}}
  quiet_hours: null
"""


def _inbox(rt: Any, body: dict[str, Any], key: str) -> int:
    from aftersales.store.models import InboxItem

    with rt.transaction() as session:
        item = InboxItem(
            shop_id=SHOP,
            platform="woocommerce",
            topic="product.updated",
            dedupe_key=key,
            body=json.dumps(body).encode(),
            source="webhook",
            state="pending",
            received_at=rt.clock.now(),
        )
        session.add(item)
        session.flush()
        return int(item.id)


def run(
    subscribers: int, units: int, per_unit: int, senders: int, workdir: Path, *, send: bool = True
) -> dict[str, Any]:
    from sqlalchemy import func, select

    from aftersales.engine.runtime import Runtime
    from aftersales.engine.settings import EngineSettings
    from aftersales.store.models import OutboxMessage, RestockMessage, Shop
    from aftersales.workflows.restock import queue_length
    from aftersales_woocommerce.testing import FakeWooCommerce

    db = workdir / "restock.db"
    started = time.perf_counter()
    builder = multiprocessing.get_context("spawn").Process(target=_build, args=(str(db), subscribers))
    builder.start()
    builder.join()
    if builder.exitcode != 0:
        raise RuntimeError("building the subscriptions failed")
    build_seconds = time.perf_counter() - started

    ctx = multiprocessing.get_context("spawn")
    counter, ready, stop = ctx.Value("q", 0), ctx.Event(), ctx.Event()
    port = _free_port()
    sink = ctx.Process(target=_sink_main, args=(port, counter, ready, stop), daemon=True)
    sink.start()
    ready.wait(30)
    os.environ.update(
        {
            "AFTERSALES_SMTP_HOST": "127.0.0.1",
            "AFTERSALES_SMTP_PORT": str(port),
            "AFTERSALES_MAIL_FROM": "alerts@bench.example",
            "AFTERSALES_SECRET_KEY": "benchmark-secret-key",
            "AFTERSALES_PUBLIC_URL": "https://alerts.example",
        }
    )

    url = f"sqlite:///{db}"
    rt = Runtime(url, settings=EngineSettings(grace=0.0), workflows=("aftersales.workflows.restock",))
    rt.launch(worker=False)
    try:
        with FakeWooCommerce(deliver_webhooks=False) as shop:
            shop.add_product(
                {"id": VARIANT_PRODUCT, "name": "Limited sneakers", "type": "variable"}, webhook=False
            )
            shop.add_variation(
                VARIANT_PRODUCT, {"id": VARIANT_ID, "name": "Limited sneakers 42"}, webhook=False
            )
            with rt.transaction() as session:
                session.add(
                    Shop(
                        id=SHOP,
                        platform="woocommerce",
                        webhook_secrets=[],
                        credentials=shop.credentials().model_dump(mode="json"),
                        policy_yaml=POLICY.format(per_unit=per_unit),
                        created_at=rt.clock.now(),
                    )
                )
            # The sold-out webhook that made the variant subscribable.
            shop.set_stock(VARIANT_PRODUCT, VARIANT_ID, 0, webhook=False)
            rt.run_job("inbox", str(_inbox(rt, shop.product(VARIANT_PRODUCT, VARIANT_ID), "sold-out")))

            # -- restock webhook → first wave enqueued (and committed) -------------------------------
            shop.set_stock(VARIANT_PRODUCT, VARIANT_ID, units, webhook=False)
            item = _inbox(rt, shop.product(VARIANT_PRODUCT, VARIANT_ID), "restock")
            t_event, cpu_event = time.perf_counter(), time.process_time()
            outcome = rt.run_job("inbox", str(item))
            first_wave_seconds = time.perf_counter() - t_event
            first_wave_cpu_seconds = time.process_time() - cpu_event
            if outcome != "done":
                raise RuntimeError(f"the restock webhook was not processed: {outcome}")
            stock_reads = sum(
                1 for method, path in shop.requests if method == "GET" and path.endswith("/501")
            )

        # -- sending: the engine's outbox job per message, as its workers run them ------------------
        with rt.read_session() as session:
            ids = list(
                session.scalars(
                    select(OutboxMessage.id)
                    .where(OutboxMessage.state == "pending")
                    .order_by(OutboxMessage.id)
                )
            )
        queued = len(ids)
        if not send:
            ids = []
        t_send = time.perf_counter()
        with ThreadPoolExecutor(max_workers=senders) as pool:
            outcomes = list(pool.map(lambda oid: rt.run_job("outbox", str(oid)), ids, chunksize=64))
        send_seconds = time.perf_counter() - t_send
        sent = outcomes.count("sent")
        deadline = time.monotonic() + 30
        while counter.value < sent and time.monotonic() < deadline:
            time.sleep(0.01)
        peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

        with rt.read_session() as session:
            remaining = queue_length(session, SHOP, str(VARIANT_ID))
            marked = session.scalar(
                select(func.count()).select_from(RestockMessage).where(RestockMessage.sent_at.is_not(None))
            )
    finally:
        rt.shutdown()
        stop.set()
        sink.join(10)
    return {
        "subscribers": subscribers,
        "units": units,
        "per_unit": per_unit,
        "database": "sqlite",
        "build_seconds": round(build_seconds, 2),
        "first_wave_seconds": round(first_wave_seconds, 3),
        "first_wave_cpu_seconds": round(first_wave_cpu_seconds, 3),
        "load_average": round(os.getloadavg()[0], 1),
        "queue_after": remaining,
        "stock_reads": stock_reads,
        "queued": queued,
        "messages": sent,
        "marked_sent": marked,
        "smtp_received": int(counter.value),
        "send_seconds": round(send_seconds, 3),
        "send_messages_per_second": round(sent / send_seconds, 1) if send_seconds else None,
        "messages_per_second": round(sent / (first_wave_seconds + send_seconds), 1) if sent else 0.0,
        "senders": senders,
        "peak_rss_mb": round(peak_rss_mb, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--units", type=int, default=1000)
    parser.add_argument("--per-unit", type=int, default=3)
    parser.add_argument("--senders", type=int, default=2, help="SMTP sending threads (default 2)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target (2 s, 300 MB) is missed")
    parser.add_argument("--keep", metavar="DIR", help="build the database in DIR and keep it")
    parser.add_argument("--no-send", action="store_true", help="measure the wave only (big waves)")
    args = parser.parse_args(argv)

    if args.keep:
        Path(args.keep).mkdir(parents=True, exist_ok=True)
        result = run(
            args.subscribers, args.units, args.per_unit, args.senders, Path(args.keep), send=not args.no_send
        )
    else:
        with tempfile.TemporaryDirectory(prefix="restock-bench-") as tmp:
            result = run(
                args.subscribers, args.units, args.per_unit, args.senders, Path(tmp), send=not args.no_send
            )
    if args.json:
        sys.stdout.write(json.dumps(result) + "\n")
    else:
        for key, value in result.items():
            sys.stdout.write(f"{key:>26}: {value}\n")
    if args.check:
        missed = result["first_wave_seconds"] > 2.0 or result["peak_rss_mb"] > 300
        return 1 if missed else 0
    return 0


if __name__ == "__main__":
    os.environ.setdefault("AFTERSALES_DISABLE_PLUGINS", "")
    raise SystemExit(main())
