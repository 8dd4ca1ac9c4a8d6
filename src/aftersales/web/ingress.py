"""Webhook ingress: size cap, raw body, signature, parse, one durable insert, then enqueue.

The path of one webhook (DESIGN §3, §10) is, in order:

1. read the body from the stream, refusing it past the cap (413) — ``Content-Length`` is
   checked first but never trusted alone, since chunked bodies have none;
2. unknown platform, or a shop that is not registered on that platform → 404;
3. WooCommerce's activation ping (an unsigned form body ``webhook_id=N``) → 200, nothing kept
   but the delivery log line: WooCommerce refuses to activate a webhook whose ping fails;
4. the signature over the exact bytes with *this* shop's secrets only → 401 (so one shop's
   secret never authorizes another shop's route);
5. a signed body that is not JSON, or has no dedupe key → 400;
6. one transaction inserts the inbox row (``UNIQUE (shop_id, dedupe_key)``: a re-send is a
   duplicate and changes nothing) and the delivery row → 200; the runtime is told after the
   response is sent, because a pending inbox row is also found by the engine's sweeper.

Steps 2-6 run in the process's single ingest writer (:class:`BatchWriter`), in a worker
thread (the database driver and the HMAC over up to 1 MiB are blocking), several deliveries
per transaction under load; the event loop only reads the body and writes the answer. A
request is answered only after the transaction holding its rows committed. Nothing on this
path talks to a platform: "never trust order of arrival, refetch" happens in the engine.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any, cast

import anyio
import structlog
from sqlalchemy import Connection, Engine, Table, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from aftersales.platforms import PlatformAdapter, WebhookEnvelope
from aftersales.plugins import Plugins
from aftersales.store.models import InboxItem, Shop
from aftersales.web.deliverylog import delivery_row, insert_deliveries, redact_headers
from aftersales.web.metrics import WebMetrics
from aftersales.web.runtime import Clock, IngressRuntime
from aftersales.web.settings import WebSettings

log = structlog.get_logger("aftersales.web.ingress")

SIGNATURE_DIGESTS = "_signature_digests"
"""Key in a delivery's stored headers holding SHA-256 digests of its signature headers.

The signature itself is redacted; its digest lets ``aftersales replay`` re-verify a
rejected delivery after a secret fix (see :func:`reverify`) without keeping anything that
could be presented to the ingress again.
"""


class Outcome(StrEnum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    PING = "ping"
    BAD_SIGNATURE = "bad_signature"
    UNKNOWN_PLATFORM = "unknown_platform"
    UNKNOWN_SHOP = "unknown_shop"
    MALFORMED = "malformed"
    TOO_LARGE = "too_large"
    ERROR = "error"

    @property
    def status_code(self) -> int:
        return _STATUS[self]


_STATUS = {
    Outcome.ACCEPTED: 200,
    Outcome.DUPLICATE: 200,
    Outcome.PING: 200,
    Outcome.BAD_SIGNATURE: 401,
    Outcome.UNKNOWN_PLATFORM: 404,
    Outcome.UNKNOWN_SHOP: 404,
    Outcome.MALFORMED: 400,
    Outcome.TOO_LARGE: 413,
    Outcome.ERROR: 503,
}

_MESSAGES = {
    Outcome.ACCEPTED: "accepted",
    Outcome.DUPLICATE: "already received",
    Outcome.PING: "pong",
    Outcome.BAD_SIGNATURE: "invalid signature",
    Outcome.UNKNOWN_PLATFORM: "not found",
    Outcome.UNKNOWN_SHOP: "not found",
    Outcome.MALFORMED: "malformed body",
    Outcome.TOO_LARGE: "body too large",
    Outcome.ERROR: "temporarily unavailable, retry later",
}


@dataclass(frozen=True)
class Verdict:
    """What the ingress decided about one delivery."""

    outcome: Outcome
    topic: str | None = None
    inbox_id: int | None = None
    delivery_id: int | None = None
    error: str | None = None


class IngestUnavailable(RuntimeError):
    """The database could not take the delivery: answer 503 so the platform retries."""


def signature_digests(headers: Mapping[str, str]) -> dict[str, str]:
    """SHA-256 of every signature-like header value (see :data:`SIGNATURE_DIGESTS`)."""
    return {
        name.lower(): hashlib.sha256(value.strip().encode("utf-8", "replace")).hexdigest()
        for name, value in headers.items()
        if "signature" in name.lower() or "hmac" in name.lower()
    }


def _stored_headers(headers: Mapping[str, str]) -> dict[str, Any]:
    stored: dict[str, Any] = dict(redact_headers(headers.items()))
    digests = signature_digests(headers)
    if digests:
        stored[SIGNATURE_DIGESTS] = digests
    return stored


INBOX = cast(Table, InboxItem.__table__)
SHOPS = cast(Table, Shop.__table__)
_INSERT_INBOX: dict[str, Any] = {
    "sqlite": sqlite.insert(INBOX).on_conflict_do_nothing().returning(INBOX.c.id),
    "postgresql": postgresql.insert(INBOX).on_conflict_do_nothing().returning(INBOX.c.id),
}
_EXISTING_INBOX = select(INBOX.c.id).where(
    INBOX.c.shop_id == bindparam("shop_id"), INBOX.c.dedupe_key == bindparam("dedupe_key")
)
_SHOP = select(SHOPS.c.platform, SHOPS.c.webhook_secrets, SHOPS.c.active).where(SHOPS.c.id == bindparam("id"))


def insert_inbox(
    connection: Connection,
    *,
    shop_id: str,
    platform: str,
    envelope: WebhookEnvelope,
    body: bytes,
    source: str,
    received_at: datetime,
) -> tuple[int, bool]:
    """Insert the inbox row unless its dedupe key is already there: ``(inbox_id, created)``.

    ``INSERT … ON CONFLICT DO NOTHING RETURNING id`` is one statement on both SQLite and
    PostgreSQL, so two concurrent re-sends of the same webhook cannot both be accepted and
    neither waits on an exception/rollback round trip. Statements are built once at import
    (the hot path only binds parameters).
    """
    assert envelope.topic is not None and envelope.dedupe_key is not None
    statement = _INSERT_INBOX.get(connection.dialect.name)
    if statement is None:  # pragma: no cover - the store supports these two
        raise RuntimeError(f"unsupported database dialect {connection.dialect.name!r}")
    new_id = connection.execute(
        statement,
        {
            "shop_id": shop_id,
            "platform": platform,
            "topic": envelope.topic,
            "dedupe_key": envelope.dedupe_key,
            "body": body,
            "source": source,
            "state": "pending",
            "attempts": 0,
            "received_at": received_at,
        },
    ).scalar_one_or_none()
    if new_id is not None:
        return int(new_id), True
    existing = connection.execute(
        _EXISTING_INBOX, {"shop_id": shop_id, "dedupe_key": envelope.dedupe_key}
    ).scalar_one()
    return int(existing), False


def safe_envelope(
    adapter: PlatformAdapter, body: bytes, headers: Mapping[str, str]
) -> tuple[WebhookEnvelope | None, str | None]:
    try:
        return adapter.envelope(body, headers), None
    except Exception as exc:  # a plugin bug or hostile input must never become a 500
        return None, f"{type(exc).__name__}: {exc}"


def safe_verify(
    adapter: PlatformAdapter, body: bytes, headers: Mapping[str, str], secrets: list[str]
) -> bool:
    try:
        return bool(adapter.verify(body, headers, secrets))
    except Exception:  # a verifier that crashes on odd input has not verified anything
        return False


def parse_problem(body: bytes) -> str | None:
    try:
        json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        return f"body is not JSON: {exc}"
    except RecursionError:  # a signed but absurdly nested body must not fail the batch it rides in
        return "body is not usable JSON: nested too deeply"
    return None


def envelope_problem(envelope: WebhookEnvelope | None, error: str | None) -> str | None:
    if envelope is None:
        return error or "the platform plugin could not read the headers"
    if not envelope.topic:
        return "no topic header"
    if not envelope.dedupe_key:
        return "no dedupe key (webhook id) in the headers"
    if len(envelope.topic) > 100 or len(envelope.dedupe_key) > 300:
        return "topic or dedupe key too long"
    return None


@dataclass(frozen=True)
class Job:
    """One request to record: its route, raw body and headers (and a verdict made on the loop)."""

    platform: str
    shop_id: str
    body: bytes
    headers: Mapping[str, str]
    body_size: int
    forced: Outcome | None = None
    """Decided before the database (``too_large``): only the delivery row is written."""
    error: str | None = None


class Ingress:
    """The synchronous half of the webhook route: everything that touches the database.

    It works on Core connections of the runtime's engine with statements compiled once: at
    hundreds of deliveries a second the ORM's per-row bookkeeping cost more than SQLite's
    commit (measured with ``benchmarks/webhook_ingest.py``). :meth:`process_batch` records
    several deliveries in one transaction (see :class:`BatchWriter`).
    """

    def __init__(self, sessions: sessionmaker[Session], plugins: Plugins, clock: Clock) -> None:
        bind = sessions.kw.get("bind")
        if not isinstance(bind, Engine):
            raise TypeError("the runtime's sessionmaker must be bound to an Engine")
        self.engine = bind
        self.plugins = plugins
        self.clock = clock

    def process_batch(self, jobs: list[Job]) -> list[Verdict | Exception]:
        """Decide and record ``jobs`` in one transaction, one result per job.

        When the shared transaction fails, each job is retried alone, so one bad delivery (or
        a database that fails only now and then) never costs its neighbours their answer. A
        job that still cannot be recorded gets :class:`IngestUnavailable`: 503, not acked.
        """
        try:
            with self.engine.begin() as connection:
                self._no_autocheckpoint(connection)
                shops: dict[str, list[str] | None] = {}
                return [*self._record(connection, [self._process(connection, job, shops) for job in jobs])]
        except Exception as exc:  # any failure, not only the database's: retry each job alone below
            if len(jobs) == 1:
                return [IngestUnavailable(f"recording the delivery failed: {type(exc).__name__}")]
        results: list[Verdict | Exception] = []
        for job in jobs:
            try:
                with self.engine.begin() as connection:
                    results.extend(self._record(connection, [self._process(connection, job, {})]))
            except Exception as exc:  # this job alone is not acked (503); its neighbours keep their answers
                results.append(IngestUnavailable(f"recording the delivery failed: {type(exc).__name__}"))
        return results

    def _record(self, connection: Connection, decided: list[tuple[Verdict, dict[str, Any]]]) -> list[Verdict]:
        """Write the delivery rows of a batch in one statement and give each verdict its row id."""
        ids = insert_deliveries(connection, [row for _, row in decided])
        return [
            replace(verdict, delivery_id=row_id) for (verdict, _), row_id in zip(decided, ids, strict=True)
        ]

    def _no_autocheckpoint(self, connection: Connection) -> None:
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql("PRAGMA wal_autocheckpoint=0")

    def checkpoint(self) -> None:
        """A PASSIVE WAL checkpoint (SQLite only): copies what it can, never waits for a writer.

        Run on the raw driver connection, outside any transaction: through SQLAlchemy it would
        start with the store's ``BEGIN IMMEDIATE`` and hold the write lock for the whole
        checkpoint, stalling the writer it is meant to spare.
        """
        raw = self.engine.raw_connection()
        try:
            driver = raw.driver_connection
            if driver is not None:
                driver.execute("PRAGMA wal_autocheckpoint=0")
                driver.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        finally:
            raw.close()

    def _secrets(
        self, connection: Connection, platform: str, shop_id: str, shops: dict[str, list[str] | None]
    ) -> list[str] | None:
        """The shop's webhook secrets (None: not a shop on this platform), read once per batch."""
        key = f"{platform}/{shop_id}"
        if key not in shops:
            row = connection.execute(_SHOP, {"id": shop_id}).first()
            active = row is not None and row.platform == platform and row.active
            shops[key] = [str(s) for s in row.webhook_secrets or []] if active and row is not None else None
        return shops[key]

    def _process(
        self, connection: Connection, job: Job, shops: dict[str, list[str] | None]
    ) -> tuple[Verdict, dict[str, Any]]:
        """Judge one job, insert its inbox row if acceptable; the verdict and its delivery row."""
        if job.forced is not None:
            return self._refuse(job, job.forced, None, job.error)
        adapter = self.plugins.platforms().get(job.platform)
        if adapter is None:
            return self._refuse(job, Outcome.UNKNOWN_PLATFORM, None, None)
        secrets = self._secrets(connection, job.platform, job.shop_id, shops)
        judged = _judge(adapter, secrets, job.body, job.headers)
        if not isinstance(judged, WebhookEnvelope):
            outcome, topic, error = judged
            return self._refuse(job, outcome, topic, error)
        now = self.clock.now()
        inbox_id, created = insert_inbox(
            connection,
            shop_id=job.shop_id,
            platform=job.platform,
            envelope=judged,
            body=job.body,
            source="webhook",
            received_at=now,
        )
        outcome = Outcome.ACCEPTED if created else Outcome.DUPLICATE
        row = delivery_row(
            platform=job.platform,
            shop_id=job.shop_id,
            topic=judged.topic,
            received_at=now,
            status_code=outcome.status_code,
            outcome=outcome.value,
            headers=_stored_headers(job.headers),
            # the inbox row holds the accepted body; a duplicate's bytes may differ
            body=None if created else job.body,
            body_size=job.body_size,
            inbox_id=inbox_id,
        )
        return Verdict(outcome=outcome, topic=judged.topic, inbox_id=inbox_id), row

    def _refuse(
        self, job: Job, outcome: Outcome, topic: str | None, error: str | None
    ) -> tuple[Verdict, dict[str, Any]]:
        row = delivery_row(
            platform=job.platform,
            shop_id=job.shop_id,
            topic=topic,
            received_at=self.clock.now(),
            status_code=outcome.status_code,
            outcome=outcome.value,
            headers=_stored_headers(job.headers),
            body=job.body or None,
            body_size=job.body_size,
            error=error,
        )
        return Verdict(outcome=outcome, topic=topic, error=error), row


class BatchWriter:
    """One writer for the whole process: requests queue their job, one thread records batches.

    Why: SQLite has one writer at a time, and concurrent writers in threads wait for each
    other in its busy handler, which sleeps in growing steps (1, 2, 5, 10 ms...). Measured
    with 16 concurrent senders that capped ingest near 400 requests/s with a p99 of half a
    second. A single writer never contends with itself, and whatever arrived while a batch
    was committing goes into the next one (group commit), so under load one commit serves
    many deliveries while an idle service still writes each one at once. Every request is
    answered only after the transaction holding its row committed.
    """

    CHECKPOINT_EVERY = 1.0
    """Seconds between SQLite WAL checkpoints, run beside the writer (see :meth:`_checkpoints`)."""

    def __init__(self, ingress: Ingress, max_batch: int = 128) -> None:
        self.ingress = ingress
        self.max_batch = max_batch
        self._queue: asyncio.Queue[tuple[Job, asyncio.Future[Verdict]]] | None = None
        self._task: asyncio.Task[None] | None = None
        self._checkpointer: asyncio.Task[None] | None = None

    async def submit(self, job: Job) -> Verdict:
        if self._queue is None or self._task is None or self._task.done():
            loop = asyncio.get_running_loop()
            self._queue = asyncio.Queue()
            self._task = loop.create_task(self._run(self._queue))
            if self.ingress.engine.dialect.name == "sqlite":
                self._checkpointer = loop.create_task(self._checkpoints())
        future: asyncio.Future[Verdict] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((job, future))
        return await future

    async def _checkpoints(self) -> None:
        """Move the WAL into the database file off the write path.

        SQLite checkpoints automatically inside the commit that crosses 1000 WAL pages, and a
        checkpoint syncs the database file: measured at 200 deliveries/s that put stalls of
        50-600 ms on the request that happened to commit. The writer's connections turn the
        automatic checkpoint off (:meth:`Ingress.process_batch`) and this task runs a PASSIVE
        checkpoint (it never blocks a writer) every second in a worker thread instead.
        """
        while True:
            await asyncio.sleep(self.CHECKPOINT_EVERY)
            try:
                await anyio.to_thread.run_sync(self.ingress.checkpoint)
            except SQLAlchemyError as exc:
                log.warning("wal_checkpoint_failed", error=type(exc).__name__)

    async def _run(self, queue: asyncio.Queue[tuple[Job, asyncio.Future[Verdict]]]) -> None:
        while True:
            batch = [await queue.get()]
            while len(batch) < self.max_batch and not queue.empty():
                batch.append(queue.get_nowait())
            jobs = [job for job, future in batch if not future.cancelled()]
            if not jobs:
                continue
            try:
                results = await anyio.to_thread.run_sync(self.ingress.process_batch, jobs)
            except Exception as exc:  # a bug must fail these requests (503), not the writer
                log.error("ingest_batch_failed", error=f"{type(exc).__name__}: {exc}")
                results = [IngestUnavailable("internal error")] * len(jobs)
            pending = iter(results)
            for _job, future in batch:
                if future.cancelled():
                    continue  # its request gave up (timeout): the row may be committed; a retry dedupes
                result = next(pending)
                if isinstance(result, Exception):
                    future.set_exception(result)
                else:
                    future.set_result(result)


def _judge(
    adapter: PlatformAdapter, secrets: list[str] | None, body: bytes, headers: Mapping[str, str]
) -> WebhookEnvelope | tuple[Outcome, str | None, str | None]:
    """The envelope of an acceptable delivery, else ``(outcome, topic, error)`` of the refusal.

    Order matters: the unsigned ping is answered before the signature check (WooCommerce
    cannot sign it), and nothing about the body is judged before the signature passed, so an
    unsigned sender learns nothing but 401.
    """
    if secrets is None:
        return Outcome.UNKNOWN_SHOP, None, None
    envelope, envelope_error = safe_envelope(adapter, body, headers)
    topic = envelope.topic if envelope is not None else None
    if envelope is not None and envelope.is_ping:
        return Outcome.PING, topic, None
    if not secrets or not safe_verify(adapter, body, headers, secrets):
        return Outcome.BAD_SIGNATURE, topic, None
    problem = parse_problem(body) or envelope_problem(envelope, envelope_error)
    if problem is not None or envelope is None:
        return Outcome.MALFORMED, topic, problem
    return envelope


def reverify(
    adapter: PlatformAdapter, body: bytes, stored_headers: Mapping[str, Any], secrets: list[str]
) -> dict[str, str] | None:
    """Rebuild the original signed headers of a stored delivery, if the secrets now sign it.

    The log keeps only a SHA-256 digest of each signature header. Both built-in platforms
    sign with base64 HMAC-SHA256 over the body, so for each secret the signature it would
    produce is computed and compared with the digest; a match restores the header, and the
    adapter's own ``verify`` still has the final word. A platform with another scheme
    cannot be re-verified this way and gets ``None``.
    """
    digests = stored_headers.get(SIGNATURE_DIGESTS)
    if not isinstance(digests, dict) or not digests:
        return None
    headers = {str(k): str(v) for k, v in stored_headers.items() if k != SIGNATURE_DIGESTS}
    restored = False
    for secret in secrets:
        candidate = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
        fingerprint = hashlib.sha256(candidate.encode()).hexdigest()
        for name, digest in digests.items():
            if hmac.compare_digest(str(digest), fingerprint):
                headers[str(name)] = candidate
                restored = True
    if not restored or not safe_verify(adapter, body, headers, secrets):
        return None
    return headers


async def read_capped(request: Request, limit: int) -> tuple[bytes, int, bool]:
    """Read at most ``limit`` bytes of the body: ``(body, bytes_seen, too_large)``.

    Stops reading as soon as the limit is passed, so a sender cannot make the service
    buffer more than ``limit`` (plus one chunk) whatever it declares.
    """
    declared = request.headers.get("content-length")
    if declared is not None and declared.strip().isdigit() and int(declared) > limit:
        return b"", int(declared), True
    chunks: list[bytes] = []
    seen = 0
    async for chunk in request.stream():
        seen += len(chunk)
        if seen > limit:
            kept = b"".join(chunks) + chunk
            return kept[:limit], seen, True
        chunks.append(chunk)
    return b"".join(chunks), seen, False


def webhook_endpoint(runtime: IngressRuntime, settings: WebSettings, metrics: WebMetrics) -> Any:
    """The Starlette endpoint: read the body with the cap on the loop, record through the writer."""
    writer = BatchWriter(Ingress(runtime.sessions, runtime.plugins, runtime.clock))
    known_platforms = frozenset(runtime.plugins.platforms())

    async def webhook(request: Request) -> Response:
        started = time.perf_counter()
        platform = str(request.path_params["platform"])
        shop_id = str(request.path_params["shop_id"])
        body, seen, too_large = await read_capped(request, settings.max_body_bytes)
        job = Job(platform=platform, shop_id=shop_id, body=body, headers=request.headers, body_size=seen)
        if too_large:
            error = f"body of {seen} bytes exceeds the {settings.max_body_bytes}-byte cap"
            job = Job(
                platform=platform,
                shop_id=shop_id,
                body=body,
                headers=request.headers,
                body_size=seen,
                forced=Outcome.TOO_LARGE,
                error=error,
            )
        try:
            async with asyncio.timeout(settings.db_timeout_seconds):
                verdict = await writer.submit(job)
        except (IngestUnavailable, TimeoutError) as exc:
            error = str(exc) if isinstance(exc, IngestUnavailable) else "database write timed out"
            verdict = Verdict(outcome=Outcome.ERROR, error=error)
        outcome = verdict.outcome
        elapsed = time.perf_counter() - started
        label = platform if platform in known_platforms else "unknown"
        metrics.observe_delivery(label, outcome.value, elapsed)
        log.info(
            "webhook",
            platform=platform,
            shop_id=shop_id,
            outcome=outcome.value,
            status=outcome.status_code,
            topic=verdict.topic,
            delivery_id=verdict.delivery_id,
            inbox_id=verdict.inbox_id,
            bytes=seen,
            ms=round(elapsed * 1000, 2),
            error=verdict.error if outcome in (Outcome.MALFORMED, Outcome.ERROR) else None,
        )
        background = None
        if outcome is Outcome.ACCEPTED and verdict.inbox_id is not None:
            background = BackgroundTask(_submit, runtime, verdict.inbox_id)
        payload: dict[str, Any] = {"status": _MESSAGES[outcome]}
        if verdict.delivery_id is not None:
            payload["delivery_id"] = verdict.delivery_id
        headers_out = {"Retry-After": "5"} if outcome is Outcome.ERROR else None
        return JSONResponse(
            payload, status_code=outcome.status_code, background=background, headers=headers_out
        )

    return webhook


async def _submit(runtime: IngressRuntime, inbox_id: int) -> None:
    """Tell the engine after the answer went out; a miss is caught by its sweep of pending rows."""
    try:
        await runtime.submit_inbox_async(inbox_id)
    except Exception as exc:  # the row is committed; the sweeper will find it
        log.warning("enqueue_failed", inbox_id=inbox_id, error=f"{type(exc).__name__}: {exc}")
