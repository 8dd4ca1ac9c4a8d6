"""The Admin GraphQL transport: one shop, one API version, explicit session, honest failures.

What we use from ``shopifyapi`` (package ``shopify``) and what we do not:

* **used**: ``shopify.Session(domain, version, token)`` — one per client, never activated. It
  canonicalises the shop's ``*.myshopify.com`` domain, validates and resolves the API version
  (``ApiVersion.coerce_to_version``: a known release, ``unstable``, or any ``YYYY-MM``) and gives
  the versioned API path (``session.site`` → ``https://x.myshopify.com/admin/api/2026-07``) and
  the token for ``X-Shopify-Access-Token``.
* **not used**: ``shopify.GraphQL().execute``. Read in the installed package (12.7): it takes
  the site and headers from ``ShopifyResource``'s *thread-local* state set by
  ``activate_session`` (whose ``set_site`` also writes a class-level default, so one thread's
  shop leaks into threads that never activated a session), it calls ``urllib.request.urlopen``
  with **no timeout**, has no retry, and prints HTTP error bodies to stdout. A worker serving
  several shops cannot use that safely. So the request is built here from the Session's URL,
  version and token and sent with ``httpx`` (connect/read timeouts, a pooled connection).

Failure semantics (what the effects ledger relies on):

* THROTTLED (HTTP 200, ``errors[].extensions.code == "THROTTLED"``): Shopify did **not** run the
  operation. We wait ``(requestedQueryCost - currentlyAvailable) / restoreRate`` seconds from
  ``extensions.cost.throttleStatus`` and send it again — safe for queries and mutations alike.
* connection refused/connect timeout: nothing was sent; retried with backoff.
* 5xx, 429, read timeout, connection dropped after sending: retried for queries and for
  mutations that carry an idempotency key (``refundCreate @idempotent``); for any other mutation
  the outcome is unknown → :class:`~aftersales.platforms.OutcomeUnknown` (the ledger looks the
  effect up before trying again).
* 401/403 → :class:`AuthenticationFailed`; ``ACCESS_DENIED`` (missing scope) too.
* other GraphQL errors (invalid document, cost over the limit) → :class:`PlatformError`.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import shopify

from aftersales.platforms import (
    AuthenticationFailed,
    NotFound,
    OutcomeUnknown,
    PlatformError,
    TransientPlatformError,
)
from aftersales_shopify.documents import Document

log = logging.getLogger(__name__)

DEFAULT_API_VERSION = "2026-07"
"""The newest stable quarterly version at release (the bundled schema's version)."""


def newest_stable_version(default: str = DEFAULT_API_VERSION) -> str:
    """``default``, unless the installed ``shopifyapi`` knows a newer stable release."""
    known = [str(name) for name, v in shopify.ApiVersion.versions.items() if getattr(v, "stable", False)]
    return max([default, *known])


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    """Sends per operation for 5xx/connection failures (throttling is counted separately)."""
    backoff_seconds: float = 0.5
    """First backoff; doubles each time, with jitter, capped at ``max_backoff_seconds``."""
    max_backoff_seconds: float = 8.0
    max_throttle_waits: int = 10
    max_throttle_wait_seconds: float = 60.0
    """A single throttle wait longer than this means the bucket is far too small: give up."""

    def backoff(self, attempt: int) -> float:
        base = min(self.backoff_seconds * (2.0 ** (attempt - 1)), self.max_backoff_seconds)
        return float(base * random.uniform(0.5, 1.0))


@dataclass(frozen=True)
class CallCost:
    requested: float | None
    actual: float | None
    currently_available: float | None
    maximum_available: float | None
    restore_rate: float | None


def throttle_wait(body: Mapping[str, Any]) -> float:
    """Seconds until the bucket holds the requested cost, from ``extensions.cost``."""
    cost = (body.get("extensions") or {}).get("cost") or {}
    status = cost.get("throttleStatus") or {}
    requested = cost.get("requestedQueryCost")
    available = status.get("currentlyAvailable")
    rate = status.get("restoreRate")
    if not isinstance(requested, int | float) or not isinstance(available, int | float) or not rate:
        return 1.0  # no cost data: Shopify's documented minimum sensible pause
    return max(0.0, (float(requested) - float(available)) / float(rate))


def _error_codes(errors: Any) -> list[str]:
    codes = []
    if isinstance(errors, list):
        for e in errors:
            ext = e.get("extensions") if isinstance(e, Mapping) else None
            if isinstance(ext, Mapping) and isinstance(ext.get("code"), str):
                codes.append(ext["code"])
    return codes


def _error_text(errors: Any) -> str:
    if isinstance(errors, str):
        return errors
    if isinstance(errors, list):
        return "; ".join(str(e.get("message", e)) if isinstance(e, Mapping) else str(e) for e in errors)
    if isinstance(errors, Mapping):
        return "; ".join(f"{k}: {v}" for k, v in errors.items())
    return str(errors)


class AdminGraphQL:
    """Sends :class:`~aftersales_shopify.documents.Document` s to one shop's Admin GraphQL API."""

    def __init__(
        self,
        *,
        shop_domain: str,
        token: str,
        api_version: str | None = None,
        endpoint: str | None = None,
        timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """``endpoint`` (scheme://host[:port]) overrides where requests go (a proxy or a test shop);
        by default they go to ``https://<shop>.myshopify.com``."""
        if not token:
            raise AuthenticationFailed("no Shopify Admin API access token configured")
        self.api_version = api_version or newest_stable_version()
        self.session = shopify.Session(shop_domain, self.api_version, token)
        if self.session.url is None:
            raise ValueError(f"not a Shopify shop domain: {shop_domain!r}")
        site = urlsplit(self.session.site)  # https://x.myshopify.com/admin/api/<version>
        origin = endpoint.rstrip("/") if endpoint else f"{site.scheme}://{site.netloc}"
        self.url = f"{origin}{site.path}/graphql.json"
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self._lock = threading.Lock()
        self.last_cost: CallCost | None = None
        self._http = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            headers={
                "X-Shopify-Access-Token": str(self.session.token),
                "Content-Type": "application/json",
                "Accept": "application/json",
                "User-Agent": f"aftersales-shopify ShopifyPythonAPI/{shopify.VERSION}",
            },
        )

    @property
    def shop_domain(self) -> str:
        return str(self.session.url)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> AdminGraphQL:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- sending ----------------------------------------------------------------------------------

    def execute(
        self, document: Document, variables: Mapping[str, Any] | None = None, *, idempotent: bool = False
    ) -> dict[str, Any]:
        """The ``data`` of one operation. ``idempotent``: a mutation that may be re-sent as is."""
        payload = {"query": document.text, "variables": dict(variables or {}), "operationName": document.name}
        body_bytes = json.dumps(payload).encode()
        replay_safe = not document.is_mutation or idempotent
        attempt = 0
        throttled = 0
        while True:
            attempt += 1
            last_try = attempt >= self.retry.attempts
            try:
                response = self._http.post(self.url, content=body_bytes)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                # Nothing reached Shopify: always safe to send again.
                if last_try:
                    raise TransientPlatformError(
                        f"{document.name}: cannot reach {self.shop_domain}: {exc}"
                    ) from exc
                self._pause(self.retry.backoff(attempt), document, f"connection failed: {exc}")
                continue
            except (
                httpx.TimeoutException,
                httpx.RemoteProtocolError,
                httpx.ReadError,
                httpx.WriteError,
            ) as exc:
                # The request may have been received and run; only replay-safe operations are re-sent.
                if not replay_safe:
                    raise OutcomeUnknown(
                        f"{document.name}: response lost ({type(exc).__name__}: {exc})"
                    ) from exc
                if last_try:
                    if document.is_mutation:
                        raise OutcomeUnknown(
                            f"{document.name}: response lost {attempt} times ({exc})"
                        ) from exc
                    raise TransientPlatformError(
                        f"{document.name}: no response from {self.shop_domain}: {exc}"
                    ) from exc
                self._pause(self.retry.backoff(attempt), document, f"response lost: {exc}")
                continue

            status = response.status_code
            if status in (401, 403):
                raise AuthenticationFailed(
                    f"{document.name}: Shopify rejected the access token for {self.shop_domain} ({status})",
                    status=status,
                )
            if status == 404:
                raise NotFound(
                    f"{document.name}: {self.url} not found (shop or API version {self.api_version})",
                    status=404,
                )
            if status == 429 or status >= 500:
                if status == 429:  # rate limited before running: safe to re-send after Retry-After
                    wait = _retry_after(response) or self.retry.backoff(attempt)
                    throttled += 1
                    if throttled > self.retry.max_throttle_waits:
                        raise TransientPlatformError(f"{document.name}: still rate limited (429)", status=429)
                    self._pause(wait, document, "HTTP 429")
                    attempt -= 1
                    continue
                if not replay_safe:
                    raise OutcomeUnknown(
                        f"{document.name}: HTTP {status} after sending a mutation", status=status
                    )
                if last_try:
                    if document.is_mutation:
                        raise OutcomeUnknown(f"{document.name}: HTTP {status} {attempt} times", status=status)
                    raise TransientPlatformError(
                        f"{document.name}: HTTP {status} from Shopify", status=status
                    )
                self._pause(self.retry.backoff(attempt), document, f"HTTP {status}")
                continue

            try:
                body = response.json()
            except ValueError as exc:
                raise PlatformError(
                    f"{document.name}: HTTP {status} with a body that is not JSON", status=status
                ) from exc
            if not isinstance(body, dict):
                raise PlatformError(f"{document.name}: unexpected response shape", status=status)
            self._record_cost(body)
            errors = body.get("errors")
            codes = _error_codes(errors)
            if "THROTTLED" in codes:
                wait = throttle_wait(body)
                throttled += 1
                if throttled > self.retry.max_throttle_waits or wait > self.retry.max_throttle_wait_seconds:
                    raise TransientPlatformError(
                        f"{document.name}: throttled by Shopify (wait {wait:.1f}s, {throttled} times)",
                        code="THROTTLED",
                    )
                self._pause(wait, document, "THROTTLED")
                attempt -= 1  # throttling does not use up the failure budget
                continue
            if status >= 400 or errors:
                code = codes[0] if codes else None
                message = f"{document.name}: {_error_text(errors) if errors else f'HTTP {status}'}"
                if code == "ACCESS_DENIED":
                    raise AuthenticationFailed(message, code=code, status=status)
                if code == "INTERNAL_SERVER_ERROR" and replay_safe and not last_try:
                    self._pause(self.retry.backoff(attempt), document, "INTERNAL_SERVER_ERROR")
                    continue
                if code == "INTERNAL_SERVER_ERROR":
                    cls = TransientPlatformError if not document.is_mutation else OutcomeUnknown
                    raise cls(message, code=code, status=status)
                raise PlatformError(message, code=code, status=status)
            data = body.get("data")
            if not isinstance(data, dict):
                raise PlatformError(f"{document.name}: response has no data", status=status)
            return data

    def _pause(self, seconds: float, document: Document, why: str) -> None:
        log.info("shopify %s: %s; retrying in %.3fs", document.name, why, seconds)
        self._sleep(seconds)

    def _record_cost(self, body: Mapping[str, Any]) -> None:
        cost = (body.get("extensions") or {}).get("cost")
        if not isinstance(cost, Mapping):
            return
        status = cost.get("throttleStatus") or {}
        with self._lock:
            self.last_cost = CallCost(
                requested=cost.get("requestedQueryCost"),
                actual=cost.get("actualQueryCost"),
                currently_available=status.get("currentlyAvailable"),
                maximum_available=status.get("maximumAvailable"),
                restore_rate=status.get("restoreRate"),
            )


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None
