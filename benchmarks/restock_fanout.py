"""Back-in-stock fan-out: one variant, N confirmed subscribers, a restock of U units.

    .venv/bin/python benchmarks/restock_fanout.py --subscribers 1000000 --units 1000 --json

What it measures, in a fresh embedded SQLite database:

- ``first_wave_seconds``: from the restock webhook's payload to the first wave selected and
  enqueued and committed — normalize the WooCommerce ``product.updated`` body, open the
  episode, re-read the stock from the shop over HTTP (a real fake WooCommerce server),
  count the queue, size the wave through the plugin hook, and write ``restock_messages`` plus
  rendered outbox rows (Jinja templates) for ``units × per_unit`` subscribers;
- ``messages`` / ``messages_per_second``: those alerts taken from the outbox, built into MIME
  e-mails and handed over real SMTP to an aiosmtpd sink (a separate process), end to end
  from the restock (``send_messages_per_second``: the sending part alone);
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
import threading
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
    from aftersales.store.db import make_engine
    from aftersales.store.models import Base

    engine = make_engine(f"sqlite:///{path}")
    Base.metadata.create_all(engine)
    engine.dispose()
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


def run(subscribers: int, units: int, per_unit: int, senders: int, workdir: Path) -> dict[str, Any]:
    from sqlalchemy import func, select, update

    from aftersales.domain import StockData
    from aftersales.notify.compose import compose_message
    from aftersales.notify.mail import EmailChannel, SmtpSettings
    from aftersales.notify.message import Message
    from aftersales.plugins import load_plugins
    from aftersales.store.db import make_engine, session_factory
    from aftersales.store.models import OutboxMessage
    from aftersales.workflows.restock import (
        RestockRules,
        RestockTokens,
        Source,
        WavePorts,
        mark_sent,
        observe_stock,
        queue_length,
        run_wave,
    )
    from aftersales.workflows.restock.wave import parse_alert_dedupe_key
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

    plugins = load_plugins()
    adapter = plugins.platform("woocommerce")
    rules = RestockRules(per_unit=per_unit, public_url="https://alerts.example", shop_name="Bench shop",
                         timezone="UTC", recheck_stock=True)  # fmt: skip
    tokens = RestockTokens("benchmark-secret")
    engine = make_engine(f"sqlite:///{db}")
    sessions = session_factory(engine)
    scheduled: list[tuple[str, datetime]] = []

    with FakeWooCommerce(deliver_webhooks=False) as shop:
        shop.add_product(
            {"id": VARIANT_PRODUCT, "name": "Limited sneakers", "type": "variable"}, webhook=False
        )
        shop.add_variation(VARIANT_PRODUCT, {"id": VARIANT_ID, "name": "Limited sneakers 42"}, webhook=False)
        shop.set_stock(VARIANT_PRODUCT, VARIANT_ID, 0, webhook=False)
        client = adapter.client(shop.credentials())
        with sessions.begin() as s:  # the sold-out report that made the variant subscribable
            observe_stock(s, SHOP, client.read_stock(str(VARIANT_PRODUCT), str(VARIANT_ID)), source=Source.WEBHOOK,
                          now=T0, rules=rules, name="Limited sneakers 42")  # fmt: skip
        shop.set_stock(VARIANT_PRODUCT, VARIANT_ID, units, webhook=False)
        payload = shop.product(VARIANT_PRODUCT, VARIANT_ID)
        now = T0 + timedelta(days=1)

        def render(*, to: str, locale: str, context: Any) -> Message:
            return compose_message(shop_id=SHOP, template="restock_alert", to=to, locale=locale, context=context,
                                   plugins=plugins)  # fmt: skip

        ports = WavePorts(
            render=render,
            schedule=lambda timer, due, _payload: scheduled.append((timer, due)),
            tokens=tokens,
            read_stock=client.read_stock,
            size_wave=plugins.restock_wave,
        )

        # -- restock event → first wave enqueued -------------------------------------------------------
        t_event = time.perf_counter()
        event = adapter.normalize("product.updated", payload)
        assert isinstance(event.data, StockData)
        with sessions.begin() as s:
            opened = None
            for level in event.data.levels:
                outcome = observe_stock(s, SHOP, level, source=Source.WEBHOOK, now=now, rules=rules,
                                        name=event.data.name)  # fmt: skip
                opened = opened or outcome.opened
            if opened is None:
                raise RuntimeError(f"the restock opened no episode: {event.data.levels}")
            wave = run_wave(s, opened, 1, now, rules, ports)
        first_wave_seconds = time.perf_counter() - t_event
        stock_reads = sum(1 for method, path in shop.requests if method == "GET" and "variations" in path)

    # -- sending: outbox → MIME → SMTP sink ---------------------------------------------------------
    channel = EmailChannel(
        SmtpSettings(host="127.0.0.1", port=port, timeout=30, mail_from="alerts@bench.example")
    )
    t_send = time.perf_counter()
    sent = 0
    last_id = 0
    lock = threading.Lock()

    def deliver(row: tuple[int, str, dict[str, Any]]) -> tuple[int, str, bool]:
        receipt = channel.send(Message.model_validate(row[2]))
        return row[0], row[1], receipt.accepted

    with ThreadPoolExecutor(max_workers=senders) as pool:
        while True:
            with sessions() as s:
                batch = s.execute(
                    select(OutboxMessage.id, OutboxMessage.dedupe_key, OutboxMessage.message)
                    .where(OutboxMessage.state == "pending", OutboxMessage.id > last_id)
                    .order_by(OutboxMessage.id)
                    .limit(500)
                ).all()
            if not batch:
                break
            results = list(pool.map(deliver, [tuple(r) for r in batch]))
            at = datetime.now(UTC)
            with sessions.begin() as s, lock:
                ok = [oid for oid, _key, accepted in results if accepted]
                s.execute(
                    update(OutboxMessage).where(OutboxMessage.id.in_(ok)).values(state="sent", sent_at=at)
                )
                for _oid, key, accepted in results:
                    parsed = parse_alert_dedupe_key(key)
                    if accepted and parsed:
                        mark_sent(s, parsed[0], parsed[1], at)
            sent += len(ok)
            last_id = batch[-1][0]
    send_seconds = time.perf_counter() - t_send
    deadline = time.monotonic() + 30
    while counter.value < sent and time.monotonic() < deadline:
        time.sleep(0.01)
    stop.set()
    sink.join(10)
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    with sessions() as s:
        remaining = queue_length(s, SHOP, str(VARIANT_ID))
        outbox_rows = s.scalar(select(func.count()).select_from(OutboxMessage))
    engine.dispose()
    return {
        "subscribers": subscribers,
        "units": units,
        "per_unit": per_unit,
        "database": "sqlite",
        "build_seconds": round(build_seconds, 2),
        "first_wave_seconds": round(first_wave_seconds, 3),
        "wave_status": str(wave.status),
        "queue_before": wave.queue,
        "queue_after": remaining,
        "stock_reads": stock_reads,
        "messages": sent,
        "outbox_rows": outbox_rows,
        "smtp_received": int(counter.value),
        "send_seconds": round(send_seconds, 3),
        "send_messages_per_second": round(sent / send_seconds, 1) if send_seconds else None,
        "messages_per_second": round(sent / (first_wave_seconds + send_seconds), 1) if sent else 0.0,
        "senders": senders,
        "next_wave_at": scheduled[-1][1].isoformat() if scheduled else None,
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
    args = parser.parse_args(argv)

    if args.keep:
        Path(args.keep).mkdir(parents=True, exist_ok=True)
        result = run(args.subscribers, args.units, args.per_unit, args.senders, Path(args.keep))
    else:
        with tempfile.TemporaryDirectory(prefix="restock-bench-") as tmp:
            result = run(args.subscribers, args.units, args.per_unit, args.senders, Path(tmp))
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
