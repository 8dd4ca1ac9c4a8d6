"""Webhook ingest against a bare ASGI endpoint, same server, same load, same run.

    .venv/bin/python benchmarks/webhook_ingest.py [--seconds 5] [--concurrency 16] [--rate 200] [--json]

Two uvicorn processes with identical settings serve, on loopback:

- **ingest** — the real ``POST /webhooks/woocommerce/bench`` route of :func:`create_app` on an
  embedded SQLite file migrated to head, with the real WooCommerce plugin: every request is a
  distinct, correctly signed ``order.updated`` delivery (the sample order with its own id and
  ``date_modified_gmt``, so every one is a new inbox row) and is verified, recorded in the inbox
  and the delivery log in one transaction, logged as JSON, and answered;
- **bare** — an ASGI callable that reads the body and answers 200.

The load generator is this process: pre-built HTTP/1.1 requests written on keep-alive asyncio
connections (a hand-written client, because httpx's per-request overhead would cap the bare
endpoint near its own speed and hide the ratio). Two phases per server:

1. throughput: ``--concurrency`` connections in a closed loop, in one-second slices that
   alternate between the two servers for ``--seconds`` each (on a shared machine both then
   see the same background load) → requests/s; ``ratio`` = ingest / bare;
2. latency at a fixed ``--rate`` (open loop, requests scheduled on a clock): p50/p99 of the ack
   latency measured from each request's *scheduled* time, so a stall is not hidden by the
   requests that were never sent during it.

``cpu_ratio`` is the same comparison in server CPU time per request (from /proc): on a machine
shared with other work the wall-clock ratio moves with the neighbours' load, the CPU cost of a
request much less; ``loadavg_before``/``after`` say how busy the machine was.

Targets (issue 7): ratio ≥ 0.5 and p99 ≤ 25 ms at 200 requests/s. Not pass/fail; ``--check``
exits 1 when a target is missed. The engine's enqueue is not measured here (the runtime's
``submit_inbox_async`` is a no-op): the route acknowledges once the inbox row is committed,
and a pending row is what the engine's workers pick up.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

SHOP = "bench"
SECRET = "bench-webhook-secret-0123456789"
HOST = "127.0.0.1"


# -- the two servers ---------------------------------------------------------------------------


class _BenchRuntime:
    """What ``create_app`` needs from the engine; enqueue is a no-op (see the module docstring)."""

    def __init__(self, db_url: str) -> None:
        from aftersales.plugins import load_plugins
        from aftersales.store.db import make_engine, session_factory

        self.sessions = session_factory(make_engine(db_url))
        self.plugins = load_plugins()
        self.clock = self

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def submit_inbox_async(self, inbox_id: int) -> None:
        return None


async def bare_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    body = b'{"status":"accepted"}'
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def serve(kind: str, port: int, db_url: str | None) -> None:
    import uvicorn

    if kind == "ingest":
        assert db_url is not None
        from aftersales.web.app import create_app

        app: Any = create_app(_BenchRuntime(db_url))
    else:
        app = bare_app
    uvicorn.run(app, host=HOST, port=port, log_level="warning", access_log=False, lifespan="on")


def prepare_database(directory: Path) -> str:
    from aftersales.store.db import make_engine, session_factory
    from aftersales.store.migrate import upgrade
    from aftersales.store.models import Shop

    url = f"sqlite:///{directory / 'bench.db'}"
    upgrade(url)
    engine = make_engine(url)
    with session_factory(engine)() as session, session.begin():
        session.add(
            Shop(
                id=SHOP,
                platform="woocommerce",
                webhook_secrets=[SECRET],
                credentials={},
                sync={},
                active=True,
                created_at=datetime.now(UTC),
            )
        )
    engine.dispose()
    return url


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def start_server(kind: str, db_url: str | None, log_path: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    args = [sys.executable, __file__, "--serve", kind, "--port", str(port)]
    if db_url:
        args += ["--db", db_url]
    env = dict(os.environ, AFTERSALES_LOG_FORMAT="json", AFTERSALES_SECRET_KEY="bench")
    log = log_path.open("wb")
    process = subprocess.Popen(args, env=env, stdout=log, stderr=log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://{HOST}:{port}/healthz", timeout=1)
            return process, port
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(f"{kind} server exited; see {log_path}") from None
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"{kind} server did not start")


# -- the load --------------------------------------------------------------------------------


def build_requests(count: int, port_placeholder: str = "{port}") -> list[bytes]:
    """``count`` distinct signed WooCommerce ``order.updated`` requests, serialized once."""
    from aftersales_woocommerce.testing import sample_order

    base = sample_order()
    start = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
    requests: list[bytes] = []
    for i in range(count):
        order = dict(
            base,
            id=100000 + i,
            date_modified_gmt=(start + timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%S"),
        )
        body = json.dumps(order, separators=(",", ":")).encode()
        signature = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()
        head = (
            f"POST /webhooks/woocommerce/{SHOP} HTTP/1.1\r\n"
            f"Host: {HOST}:{port_placeholder}\r\n"
            "Content-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n"
            "X-WC-Webhook-Topic: order.updated\r\n"
            "X-WC-Webhook-Resource: order\r\n"
            "X-WC-Webhook-Event: updated\r\n"
            f"X-WC-Webhook-Signature: {signature}\r\n"
            "X-WC-Webhook-ID: 31\r\n"
            f"X-WC-Webhook-Delivery-ID: {hashlib.md5(body).hexdigest()}\r\n"
            "X-WC-Webhook-Source: https://shop.example/\r\n"
            "\r\n"
        )
        requests.append(head.encode() + body)
    return requests


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        reader, writer = await asyncio.open_connection(HOST, port)
        return cls(reader, writer)

    async def roundtrip(self, request: bytes) -> int:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if length:
            await self.reader.readexactly(length)
        return status

    def close(self) -> None:
        self.writer.close()


async def closed_loop(
    port: int, requests: list[bytes], concurrency: int, seconds: float, warmup: float
) -> dict[str, Any]:
    connections = [await Connection.open(port) for _ in range(concurrency)]
    cursor = 0
    counted = 0
    statuses: dict[int, int] = {}
    measuring = False
    stop = False

    async def worker(conn: Connection) -> None:
        nonlocal cursor, counted
        while not stop:
            request = requests[cursor % len(requests)]
            cursor += 1
            status = await conn.roundtrip(request)
            if measuring:
                counted += 1
                statuses[status] = statuses.get(status, 0) + 1

    tasks = [asyncio.create_task(worker(c)) for c in connections]
    await asyncio.sleep(warmup)
    measuring = True
    started = time.perf_counter()
    await asyncio.sleep(seconds)
    measuring = False
    elapsed = time.perf_counter() - started
    stop = True
    await asyncio.gather(*tasks)
    for c in connections:
        c.close()
    return {
        "requests": counted,
        "seconds": elapsed,
        "rps": counted / elapsed,
        "statuses": statuses,
        "sent_total": cursor,
    }


async def open_loop(
    port: int, requests: list[bytes], rate: float, seconds: float, pool: int
) -> dict[str, Any]:
    idle: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(pool):
        idle.put_nowait(await Connection.open(port))
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    total = int(rate * seconds)
    start = time.perf_counter() + 0.2

    async def one(i: int) -> None:
        scheduled = start + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        conn = await idle.get()
        try:
            status = await conn.roundtrip(requests[i % len(requests)])
        finally:
            idle.put_nowait(conn)
        latencies.append(time.perf_counter() - scheduled)
        statuses[status] = statuses.get(status, 0) + 1

    await asyncio.gather(*(one(i) for i in range(total)))
    while not idle.empty():
        idle.get_nowait().close()
    ordered = sorted(latencies)
    return {
        "requests": total,
        "p50_ms": statistics.median(ordered) * 1000,
        "p99_ms": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000,
        "max_ms": ordered[-1] * 1000,
        "statuses": statuses,
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads), from /proc (Linux)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def count_inbox(db_url: str) -> int:
    from sqlalchemy import func, select

    from aftersales.store.db import make_engine, session_factory
    from aftersales.store.models import InboxItem

    engine = make_engine(db_url)
    with session_factory(engine)() as session:
        count = session.scalar(select(func.count()).select_from(InboxItem)) or 0
    engine.dispose()
    return int(count)


def run(args: argparse.Namespace) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="webhook-ingest-"))
    db_url = prepare_database(workdir)
    pool = build_requests(args.requests)
    ingest, ingest_port = start_server("ingest", db_url, workdir / "ingest.log")
    bare, bare_port = start_server("bare", None, workdir / "bare.log")
    load_before = os.getloadavg()
    try:
        wires = {
            name: [r.replace(b"{port}", str(port).encode(), 1) for r in pool]
            for name, port in (("ingest", ingest_port), ("bare", bare_port))
        }
        ports = {"ingest": ingest_port, "bare": bare_port}
        pids = {"ingest": ingest.pid, "bare": bare.pid}
        cursor = {"ingest": 0, "bare": 0}
        per_server: dict[str, dict[str, Any]] = {}
        for name in ("ingest", "bare"):
            # warm up at the target rate (imports, statement caches, connections), then measure
            # latency on fresh requests (every ingest request is a new delivery)
            warm = asyncio.run(open_loop(ports[name], wires[name], args.rate, args.warmup, args.concurrency))
            start = warm["requests"]
            latency = asyncio.run(
                open_loop(ports[name], wires[name][start:], args.rate, args.latency_seconds, args.concurrency)
            )
            cursor[name] = start + latency["requests"]
            per_server[name] = {
                "latency": latency,
                "throughput": {"requests": 0, "seconds": 0.0, "cpu": 0.0, "sent": 0, "statuses": {}},
            }
        # throughput in alternating one-second slices, so both servers see the same background load
        for _ in range(max(1, round(args.seconds))):
            for name in ("ingest", "bare"):
                cpu_before = cpu_seconds(pids[name])
                sliced = asyncio.run(
                    closed_loop(ports[name], wires[name][cursor[name] :], args.concurrency, 1.0, 0.2)
                )
                cursor[name] += sliced["sent_total"]
                total = per_server[name]["throughput"]
                total["cpu"] += cpu_seconds(pids[name]) - cpu_before
                total["sent"] += sliced["sent_total"]
                total["requests"] += sliced["requests"]
                total["seconds"] += sliced["seconds"]
                for status, count in sliced["statuses"].items():
                    total["statuses"][status] = total["statuses"].get(status, 0) + count
        for name in per_server:
            total = per_server[name]["throughput"]
            total["rps"] = total["requests"] / total["seconds"]
            total["cpu_ms_per_request"] = total["cpu"] / max(1, total["sent"]) * 1000
        inbox_rows = count_inbox(db_url)
    finally:
        for process in (ingest, bare):
            process.terminate()
            process.wait(timeout=10)
    ingest_r, bare_r = per_server["ingest"], per_server["bare"]
    ratio = ingest_r["throughput"]["rps"] / bare_r["throughput"]["rps"]
    accepted = ingest_r["throughput"]["statuses"].get(200, 0)
    result = {
        "ratio": round(ratio, 3),
        "ingest_rps": round(ingest_r["throughput"]["rps"], 1),
        "bare_rps": round(bare_r["throughput"]["rps"], 1),
        "cpu_ratio": round(
            bare_r["throughput"]["cpu_ms_per_request"] / ingest_r["throughput"]["cpu_ms_per_request"], 3
        ),
        "ingest_cpu_ms_per_request": round(ingest_r["throughput"]["cpu_ms_per_request"], 3),
        "bare_cpu_ms_per_request": round(bare_r["throughput"]["cpu_ms_per_request"], 3),
        "p50_ms": round(ingest_r["latency"]["p50_ms"], 2),
        "p99_ms": round(ingest_r["latency"]["p99_ms"], 2),
        "max_ms": round(ingest_r["latency"]["max_ms"], 2),
        "bare_p50_ms": round(bare_r["latency"]["p50_ms"], 2),
        "bare_p99_ms": round(bare_r["latency"]["p99_ms"], 2),
        "rate": args.rate,
        "concurrency": args.concurrency,
        "seconds": args.seconds,
        "statuses": {
            k: {str(s): n for s, n in v["throughput"]["statuses"].items()} for k, v in per_server.items()
        },
        "latency_statuses": {
            k: {str(s): n for s, n in v["latency"]["statuses"].items()} for k, v in per_server.items()
        },
        "inbox_rows": inbox_rows,
        "database": "sqlite (embedded, WAL)",
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
        "targets": {"ratio": 0.5, "p99_ms": 25.0},
    }
    result["ok"] = result["ratio"] >= 0.5 and result["p99_ms"] <= 25.0 and accepted > 0
    result["summary"] = (
        f"ingest {result['ingest_rps']:.0f} req/s vs bare {result['bare_rps']:.0f} req/s "
        f"(ratio {result['ratio']:.2f}, target ≥ 0.5); at {args.rate:.0f} req/s p50 {result['p50_ms']:.1f} ms, "
        f"p99 {result['p99_ms']:.1f} ms (target ≤ 25 ms); server CPU per request {result['ingest_cpu_ms_per_request']:.2f} "
        f"vs {result['bare_cpu_ms_per_request']:.2f} ms (cpu_ratio {result['cpu_ratio']:.2f}); "
        f"{inbox_rows} inbox rows recorded; load average {load_before[0]:.1f}"
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--seconds", type=float, default=5.0, help="throughput per server, in alternating 1-second slices"
    )
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--latency-seconds", type=float, default=10.0, help="fixed-rate phase length")
    parser.add_argument("--rate", type=float, default=200.0, help="requests/s of the latency phase")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--requests", type=int, default=40000, help="distinct signed requests to prepare")
    parser.add_argument("--json", action="store_true", help="only the JSON result on stdout")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--serve", choices=["ingest", "bare"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port, args.db)
        return
    result = run(args)
    print(json.dumps(result, indent=None if args.json else 2))
    if not args.json:
        print(result["summary"])
    if args.check and not result["ok"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
