"""The demo's stage: every moving part of a real deployment, on one machine, in one process.

What runs (all on 127.0.0.1, each on a free port):

- the service as ``aftersales serve`` runs it: the engine :class:`~aftersales.engine.runtime.Runtime`
  as a worker (DBOS queue, sweeper) on an SQLite file, and the web app under uvicorn;
- a fake WooCommerce shop and a fake Shopify Admin API (the platform plugins' own test shops,
  real HTTP servers), which the service reads orders from and sends refunds to;
- an SMTP sink (aiosmtpd) that keeps every e-mail the service sends.

Why one process and a :class:`~aftersales.engine.clock.ManualClock`: the law's clocks are
days long (14 days to answer a complaint). The engine measures every deadline against its
clock, so moving that clock forward and letting the worker's sweeper fire what fell due is
exactly what happens in production two weeks later, only without the wait. Wall time still
drives the processes themselves (heartbeats, polling), as it does in production.

Why the settings are tightened (sweep every 0.2 s instead of 2 s, no grace): the demo must
finish in seconds; the code paths are the production ones.
"""

from __future__ import annotations

import base64
import gc
import hashlib
import hmac
import json
import logging
import os
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import uvicorn
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.applications import Starlette

from aftersales.engine.clock import ManualClock
from aftersales.engine.runtime import Runtime, import_workflows
from aftersales.engine.settings import EngineSettings
from aftersales.store.models import Effect, InboxItem, OutboxMessage, Shop, Timer
from aftersales.testing import SmtpSink
from aftersales.web.logs import configure_logging

T = TypeVar("T")

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "policies"
"""The example policies in a source checkout (``make demo`` runs from one)."""

WOO_SHOP = "eu-woo"
"""The WooCommerce shop: EU rules, EUR, ``examples/policies/eu-shop.yaml``."""
SHOPIFY_SHOP = "pl-shopify"
"""The Shopify shop: Polish law, PLN, the 50 zł guarantee, ``examples/policies/pl-shop.yaml``."""

SHOPIFY_DOMAIN = "sklep-przykladowy.myshopify.com"


class ScenarioFailed(RuntimeError):
    """A scenario did not reach the state it expects; the message says what was missing."""


class NotAvailable(RuntimeError):
    """A piece the scenario needs is not part of this build (a command, a handler, a route)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def policy_file(name: str) -> Path:
    path = EXAMPLES / name
    if not path.is_file():
        raise FileNotFoundError(f"example policy {path} is missing (run the demo from a source checkout)")
    return path


@dataclass(frozen=True)
class ShopSeat:
    """One registered shop as the demo knows it."""

    id: str
    platform: str
    secret: str
    policy: Path


class _Server:
    """uvicorn in a thread with its own event loop (what ``aftersales serve`` runs in the foreground)."""

    def __init__(self, app: Starlette, port: int) -> None:
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="demo-uvicorn", daemon=True)

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the web server did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


class Stage:
    """Everything the scenarios drive and read. Build it with :func:`boot`."""

    def __init__(
        self,
        root: Path,
        clock: ManualClock,
        sink: SmtpSink,
        woo: Any,
        shopify: Future[Any],
        runtime: Runtime,
        base_url: str,
        shops: dict[str, ShopSeat],
        app: Starlette,
    ) -> None:
        self.root = root
        self.clock = clock
        self.sink = sink
        self.woo = woo
        self._shopify_future = shopify
        self._shopify: Any = None
        self._shopify_lock = threading.Lock()
        self.runtime = runtime
        self.base_url = base_url
        self.shops = shops
        self.app = app
        # a fresh connection per request: a connection the server closed (after an error answer)
        # is never reused for the next webhook, which would fail with a reset instead of an answer
        self.http = httpx.Client(
            base_url=base_url, timeout=10, limits=httpx.Limits(max_keepalive_connections=0)
        )
        self.merchant_keys: dict[str, str] = {}
        """Each shop's merchant API key (``Authorization: Bearer askey_...``)."""
        self.broken: dict[str, str] = {}
        """Workflow packages that failed to import, with the error (their scenarios are not available)."""
        self._ids = iter(range(1, 1_000_000))

    @property
    def shopify(self) -> Any:
        """The fake Shopify shop, registered with the service on first use.

        It is built in the background (parsing the Admin schema takes seconds) while the
        WooCommerce scenarios run; the first Shopify scenario waits for it here.
        """
        with self._shopify_lock:
            if self._shopify is None:
                fake = self._shopify_future.result()
                seat = self.shops[SHOPIFY_SHOP]
                credentials = fake.credentials().model_dump(mode="json", exclude_none=True)
                self.merchant_keys[seat.id] = _register(self.runtime, seat, credentials)
                self._shopify = fake
            return self._shopify

    @property
    def db_url(self) -> str:
        return self.runtime.db_url

    def now(self) -> datetime:
        return self.clock.now()

    # -- reading the system's state --------------------------------------------------------------
    def read(self, query: Callable[[Session], T]) -> T:
        with self.runtime.sessions() as session:
            return query(session)

    def wait_for(self, what: str, probe: Callable[[Session], T | None], timeout: float = 15.0) -> T:
        """Poll the database until ``probe`` answers something truthy; ScenarioFailed(``what``) otherwise."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.read(probe)
            if found:
                return found
            if time.monotonic() > deadline:
                raise ScenarioFailed(f"{what} (waited {timeout:.0f} s)")
            time.sleep(0.05)

    def backlog(self, session: Session) -> int:
        """Work the engine still owes: pending webhooks, unsettled effects, unsent mail, due timers."""
        now = self.clock.now()
        counts = [
            session.scalar(select(func.count()).select_from(InboxItem).where(InboxItem.state == "pending")),
            session.scalar(
                select(func.count())
                .select_from(Effect)
                .where(Effect.state.in_(("intended", "sent", "unknown")))
            ),
            session.scalar(
                select(func.count()).select_from(OutboxMessage).where(OutboxMessage.state == "pending")
            ),
            session.scalar(
                select(func.count()).select_from(Timer).where(Timer.state == "pending", Timer.due_at <= now)
            ),
        ]
        return sum(c or 0 for c in counts)

    def settle(self, timeout: float = 20.0) -> None:
        """Wait until the worker has done everything that is due (twice idle in a row, to be sure)."""
        deadline = time.monotonic() + timeout
        idle = 0
        while idle < 2:
            idle = idle + 1 if self.read(self.backlog) == 0 else 0
            if time.monotonic() > deadline:
                left = self.read(self.backlog)
                raise ScenarioFailed(f"the engine still had {left} job(s) due after {timeout:.0f} s")
            time.sleep(0.1)

    def advance_to(self, moment: datetime) -> None:
        """Move the engine clock forward to ``moment`` and let the worker fire what fell due."""
        if moment > self.clock.now():
            self.clock.set(moment)
        self.settle()

    # -- acting as the shop, the customer and the merchant -------------------------------------------
    def command(self, name: str, shop_id: str, /, **payload: Any) -> dict[str, Any]:
        """Run a workflow command (the same call the web pages and the CLI make)."""
        from aftersales.engine.registry import registry

        if name not in registry.commands():
            raise NotAvailable(f"command {name!r} is not registered by any workflow")
        return self.runtime.execute_command(name, shop_id, **payload)

    def api(
        self, method: str, path: str, body: dict[str, Any] | None = None, *, merchant_of: str | None = None
    ) -> dict[str, Any]:
        """Call the service's JSON API as a storefront (no key) or as a shop's back office (its key)."""
        if not self.has_route("/api/v1/"):
            raise NotAvailable("the web app serves no JSON API (/api/v1)")
        headers = {"Authorization": f"Bearer {self.merchant_keys[merchant_of]}"} if merchant_of else {}
        response = self.http.request(method, path, json=body, headers=headers)
        if response.status_code >= 300:
            raise ScenarioFailed(f"{method} {path} answered {response.status_code}: {response.text[:300]}")
        answer: dict[str, Any] = response.json()
        return answer

    def order_pass(self, shop_id: str, number: str, email: str) -> str:
        """What a customer gets for typing the order number and their e-mail into the shop's form."""
        found = self.api(
            "POST", f"/api/v1/shops/{shop_id}/orders/lookup", {"order_number": number, "email": email}
        )
        return str(found["order_pass"])

    def send_shopify(self, topic: str, payload: dict[str, Any]) -> httpx.Response:
        """POST a webhook to the ingress exactly as Shopify does (HMAC over the raw body)."""
        seat = self.shops[SHOPIFY_SHOP]
        body = json.dumps(payload, separators=(",", ":")).encode()
        digest = hmac.new(seat.secret.encode(), body, hashlib.sha256).digest()
        headers = {
            "Content-Type": "application/json",
            "X-Shopify-Topic": topic,
            "X-Shopify-Hmac-Sha256": base64.b64encode(digest).decode(),
            "X-Shopify-Shop-Domain": SHOPIFY_DOMAIN,
            "X-Shopify-Webhook-Id": str(uuid.uuid4()),
            "X-Shopify-Event-Id": str(uuid.uuid4()),
            "X-Shopify-Triggered-At": self.now().isoformat().replace("+00:00", "Z"),
            "X-Shopify-API-Version": str(self.shopify.api_version),
        }
        response = self.http.post(f"/webhooks/shopify/{seat.id}", content=body, headers=headers)
        if response.status_code != 200:
            raise ScenarioFailed(
                f"the ingress answered {response.status_code} to Shopify {topic}: {response.text}"
            )
        return response

    def next_id(self) -> int:
        return next(self._ids)

    def has_route(self, prefix: str) -> bool:
        return any(str(getattr(route, "path", "")).startswith(prefix) for route in self.app.routes)

    def close(self) -> None:
        self.http.close()


def _register(runtime: Runtime, seat: ShopSeat, credentials: dict[str, Any]) -> str:
    """What ``aftersales shop add`` and ``shop api-key create`` store; returns the merchant API key.

    The shop row holds the webhook secret, the platform credentials and the policy text; the
    key (stored hashed) is what the merchant's back office sends to the merchant API.
    """
    from aftersales.web.api.keys import create_key

    with runtime.transaction() as session:
        session.add(
            Shop(
                id=seat.id,
                platform=seat.platform,
                webhook_secrets=[seat.secret],
                credentials=credentials,
                policy_yaml=seat.policy.read_text(encoding="utf-8"),
                policy_path=str(seat.policy),
                sync={},
                active=True,
                created_at=datetime.now(UTC),
            )
        )
        session.flush()
        return create_key(session, seat.id, "demo back office", datetime.now(UTC)).key


WORKFLOWS = ("returns", "complaints", "guarantee", "restock")
"""The workflow packages under ``aftersales.workflows`` the scenarios use."""


def import_workflows_separately(say: Callable[[str], None]) -> dict[str, str]:
    """Register every workflow's handlers, one package at a time; return those that fail to import.

    ``aftersales serve`` imports them all at once and refuses to start when one is broken. The
    demo instead reports the scenarios of a broken workflow as not available and runs the
    rest, so one half-finished workflow does not hide what the others do.
    """
    broken: dict[str, str] = {}
    for name in WORKFLOWS:
        try:
            import_workflows([f"aftersales.workflows.{name}"])
        except Exception as exc:
            broken[name] = f"aftersales.workflows.{name} does not import: {type(exc).__name__}: {exc}"
            say(f"! {broken[name]}")
    return broken


def _start_shopify(factory: Callable[..., Any], say: Callable[[str], None]) -> Any:
    fake = factory(token=f"shpat_{uuid.uuid4().hex}", shop_domain=SHOPIFY_DOMAIN)
    # The Admin schema is a few hundred thousand long-lived objects; every later full garbage
    # collection would walk them again. Freezing moves what exists now out of the collector's
    # sight (it is never garbage while the fake runs), which saves seconds of CPU per run.
    gc.freeze()
    fake.start()
    say(f"fake Shopify at {fake.url}")
    return fake


def _stop_when_built(building: Future[Any]) -> None:
    if building.done() and building.exception() is None:
        building.result().stop()


def _environment(root: Path, sink: SmtpSink, base_url: str) -> dict[str, str]:
    return {
        "AFTERSALES_SMTP_HOST": sink.host,
        "AFTERSALES_SMTP_PORT": str(sink.port),
        "AFTERSALES_PUBLIC_URL": base_url,
        "AFTERSALES_SECRET_KEY_FILE": str(root / "secret-key"),
        "AFTERSALES_DATA_DIR": str(root / "data"),
    }


@contextmanager
def _patched_env(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


@contextmanager
def boot(
    directory: Path | None = None,
    *,
    start: datetime | None = None,
    say: Callable[[str], None] = lambda _: None,
) -> Iterator[Stage]:
    """Boot the whole stage in ``directory`` (else a fresh temporary one).

    The directory is kept afterwards on purpose: the summary points at its database, its
    e-mails and its log, which are what a newcomer opens next. ``start`` sets the engine
    clock's first reading (default: now), e.g. a Friday evening before a public holiday.
    """
    from aftersales.web.app import create_app
    from aftersales_shopify.testing import FakeShopify
    from aftersales_woocommerce.testing import FakeWooCommerce

    root = Path(tempfile.mkdtemp(prefix="aftersales-demo-")) if directory is None else directory.resolve()
    root.mkdir(parents=True, exist_ok=True)
    db_path = root / "aftersales.db"
    if db_path.exists():
        raise FileExistsError(f"{db_path} exists: the demo needs an empty directory (or leave out --dir)")
    clock = ManualClock(start or datetime.now(UTC).replace(second=0, microsecond=0))
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    with ExitStack() as stack, ThreadPoolExecutor(max_workers=1) as pool:
        # the fake Shopify validates every query against the Admin schema; parsing that schema
        # takes seconds, so it is built (and started) while everything else starts and runs
        building = pool.submit(_start_shopify, FakeShopify, say)
        stack.callback(_stop_when_built, building)
        # the service's own log goes to a file beside the database: the terminal shows the story
        log_file = stack.enter_context((root / "aftersales.log").open("a", encoding="utf-8"))
        configure_logging(level=logging.INFO, stream=log_file)
        stack.callback(configure_logging, level=logging.WARNING)  # back to stderr before the file closes
        sink = stack.enter_context(SmtpSink())
        stack.enter_context(_patched_env(_environment(root, sink, base_url)))
        say(f"SMTP sink on {sink.host}:{sink.port}")

        woo = FakeWooCommerce(clock=clock.now)
        woo.start()
        stack.callback(woo.stop)
        say(f"fake WooCommerce at {woo.url}")

        settings = EngineSettings.from_env(
            sweep_interval=0.2, grace=0.0, poll_interval=0.05, shutdown_grace=2
        )
        broken = import_workflows_separately(say)
        runtime = Runtime(
            f"sqlite:///{db_path}", clock=clock, settings=settings, executor_id="demo-worker", workflows=()
        )
        runtime.launch(worker=True)
        stack.callback(runtime.shutdown)
        say(f"engine worker on sqlite:///{db_path}")

        seats = {
            WOO_SHOP: ShopSeat(
                WOO_SHOP, "woocommerce", f"wc-{uuid.uuid4().hex}", policy_file("eu-shop.yaml")
            ),
            SHOPIFY_SHOP: ShopSeat(
                SHOPIFY_SHOP, "shopify", f"shpss_{uuid.uuid4().hex}", policy_file("pl-shop.yaml")
            ),
        }
        woo_key = _register(
            runtime, seats[WOO_SHOP], woo.credentials().model_dump(mode="json", exclude_none=True)
        )

        app = create_app(runtime)
        server = _Server(app, port)
        server.start()
        stack.callback(server.stop)
        say(f"service at {base_url}")

        # WooCommerce lets the API caller set each webhook's secret: subscribe the fake shop to the
        # ingress the way `aftersales woocommerce setup` does, so it signs and delivers for real.
        adapter = runtime.plugins.platform("woocommerce")
        adapter.ensure_webhooks(
            woo.credentials(), f"{base_url}/webhooks/woocommerce/{WOO_SHOP}", seats[WOO_SHOP].secret
        )

        the_stage = Stage(root, clock, sink, woo, building, runtime, base_url, seats, app)
        the_stage.broken = broken
        the_stage.merchant_keys[WOO_SHOP] = woo_key
        stack.callback(the_stage.close)
        yield the_stage
