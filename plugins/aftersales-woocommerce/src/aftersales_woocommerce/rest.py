"""The wc/v3 REST API through the ``woocommerce`` package, made safe to call from an engine.

The package (``woocommerce.API``) signs requests (Basic auth over HTTPS, OAuth 1.0a over plain
HTTP) and hands back the raw ``requests.Response``: no retries, no error mapping. This module
adds what an unattended worker needs:

- **Timeouts** on every call (``StoreCredentials.timeout_seconds``).
- **Retries with exponential backoff and full jitter** on 429, 5xx, timeouts and dropped
  connections — but only for requests that are safe to repeat. GET/PUT/DELETE are idempotent.
  A POST is repeated only when it certainly did not reach the shop (the connection was never
  made) or the shop said 429 (rate limiting happens before the handler runs). ``Retry-After``
  is honoured, capped by the policy's ``max_delay``.
- **Typed errors** (:mod:`aftersales.platforms`) carrying WooCommerce's own error code, e.g.
  ``woocommerce_rest_cannot_create_order_refund``.
- **Unknown outcomes.** A POST that timed out or lost its response after being sent may have
  taken effect. It is never repeated blindly: :class:`OutcomeUnknown` tells the caller to look
  the effect up first (refunds: ``find_refund`` by the meta marker).

Why hand-written instead of ``urllib3.Retry``: the package builds a new ``requests`` call per
request and gives no hook for an adapter, and the retry decision depends on whether a POST was
sent, which only the exception type tells.
"""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
from woocommerce import API

from aftersales.platforms import (
    AuthenticationFailed,
    NotFound,
    OutcomeUnknown,
    PlatformError,
    RejectedByPlatform,
    StoreCredentials,
    TransientPlatformError,
)

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})

# Error codes that prove the handler ran and refused (nothing was created, nothing to look up).
# WooCommerce answers a failed wc_create_refund() with HTTP 500 and this code; it rolls the
# refund back before answering, so the 500 is a business refusal, not an unknown outcome.
BUSINESS_REFUSALS = frozenset(
    {
        "woocommerce_rest_cannot_create_order_refund",
        "woocommerce_rest_invalid_order_refund",
        "woocommerce_rest_invalid_order_id",
    }
)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry a request that is safe to repeat.

    ``attempts`` counts the first try. Delay before retry *n* (1-based) is a random value in
    ``[0, min(max_delay, base_delay * 2**(n-1))]`` ("full jitter": many workers hitting one
    rate-limited shop spread out instead of retrying in lockstep).
    """

    attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 8.0

    def delay(self, retry_number: int, retry_after: float | None = None) -> float:
        ceiling = min(self.max_delay, self.base_delay * (2 ** (retry_number - 1)))
        wait = random.uniform(0, ceiling)
        if retry_after is not None:
            wait = max(wait, min(retry_after, self.max_delay))
        return wait

    @classmethod
    def from_credentials(cls, credentials: StoreCredentials) -> RetryPolicy:
        """Read ``retry_attempts`` / ``retry_base_delay`` / ``retry_max_delay`` extras if present."""
        extra = credentials.model_extra or {}
        default = cls()
        return cls(
            attempts=int(extra.get("retry_attempts", default.attempts)),
            base_delay=float(extra.get("retry_base_delay", default.base_delay)),
            max_delay=float(extra.get("retry_max_delay", default.max_delay)),
        )


_CREDENTIAL_PARAMS = re.compile(r"(consumer_key|consumer_secret|oauth_[a-z_]+)=[^&\s'\"]*")


def redact(text: str) -> str:
    """Hide credentials that the ``woocommerce`` package puts in URLs (OAuth 1.0a over HTTP,
    ``query_string_auth`` over HTTPS) and that ``requests`` repeats in its exception texts."""
    return _CREDENTIAL_PARAMS.sub(r"\1=[redacted]", text)


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _error_body(response: requests.Response) -> tuple[str | None, str]:
    """(WooCommerce error code, message) from an error response; tolerant of HTML error pages."""
    try:
        data = response.json()
    except (ValueError, json.JSONDecodeError):
        text = redact(response.text.strip().replace("\n", " "))
        return None, text[:200] or response.reason or ""
    if isinstance(data, dict):
        code = data.get("code")
        message = data.get("message")
        return (str(code) if code else None), (str(message) if message else "")
    return None, str(data)[:200]


def error_for(response: requests.Response, what: str, *, unknown_outcome: bool = False) -> PlatformError:
    """The typed error for a non-2xx answer. ``unknown_outcome``: a non-idempotent request whose
    5xx might have come after the effect (a proxy timeout, a fatal error after the insert)."""
    status = response.status_code
    code, message = _error_body(response)
    text = f"{what}: HTTP {status}" + (f" {code}" if code else "") + (f": {message}" if message else "")
    if status == 401 and "nonce" in message.lower():
        # OAuth 1.0a over plain HTTP: WooCommerce refuses a reused nonce BEFORE doing anything,
        # so the same request with a fresh nonce is safe to send again (the engine retries it)
        return TransientPlatformError(text, code=code, status=status)
    if status in (401, 403):
        return AuthenticationFailed(text, code=code, status=status)
    if status == 404:
        return NotFound(text, code=code, status=status)
    if code in BUSINESS_REFUSALS:
        return RejectedByPlatform(text, code=code, status=status)
    if status == 429:
        return TransientPlatformError(text, code=code, status=status)
    if status >= 500:
        if unknown_outcome:
            return OutcomeUnknown(text + " (the request may have taken effect)", code=code, status=status)
        return TransientPlatformError(text, code=code, status=status)
    return RejectedByPlatform(text, code=code, status=status)


def _never_sent(exc: requests.RequestException) -> bool:
    """True when the request certainly did not reach the shop (the TCP connection never opened)."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    if isinstance(exc, requests.exceptions.ConnectionError):
        reason = exc.args[0] if exc.args else None
        inner = getattr(reason, "reason", reason)
        return isinstance(inner, NewConnectionError | ConnectTimeoutError)
    return False


class WooCommerceRest:
    """One shop's wc/v3 API with timeouts, retries and typed errors.

    ``sleep`` is injectable so tests do not wait for real backoff.
    """

    def __init__(
        self,
        credentials: StoreCredentials,
        *,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not credentials.url or not credentials.key or not credentials.secret:
            raise AuthenticationFailed(
                "WooCommerce needs url (the site address), key (consumer key ck_...) and "
                "secret (consumer secret cs_...)"
            )
        extra = credentials.model_extra or {}
        self.url = credentials.url.rstrip("/")
        self.retry = retry or RetryPolicy.from_credentials(credentials)
        self._sleep = sleep
        self._api = API(
            url=self.url,
            consumer_key=credentials.key,
            consumer_secret=credentials.secret,
            version=credentials.api_version or "wc/v3",
            timeout=credentials.timeout_seconds,
            # Some hosts strip the Authorization header; over HTTPS the keys can go in the query.
            query_string_auth=bool(extra.get("query_string_auth", False)),
            verify_ssl=bool(extra.get("verify_ssl", True)),
            user_agent="aftersales-woocommerce",
        )

    def request(
        self,
        method: str,
        endpoint: str,
        *,
        params: Mapping[str, Any] | None = None,
        data: Any = None,
        what: str | None = None,
    ) -> requests.Response:
        """Send one logical request; returns the 2xx response or raises a PlatformError.

        A non-idempotent request whose outcome became unknown raises :class:`OutcomeUnknown`
        at once: only the caller knows how to look the effect up.
        """
        response = self._run(method, endpoint, params, data, what, exists=None)
        if response is None:  # only an ``exists`` probe can end without a response
            raise RuntimeError(f"{method} {endpoint}: no response and no probe")
        return response

    def post_checked(
        self, endpoint: str, data: Any, *, exists: Callable[[], bool], what: str | None = None
    ) -> requests.Response | None:
        """POST that may be repeated after an unknown outcome, but only after ``exists()`` said
        the effect is not there. Returns None when ``exists()`` found it (no response to show).

        For effects that can be recognized afterwards (an order note by its text) but carry no
        idempotency key. Refunds do not use this: their lookup belongs to the effects ledger.
        """
        return self._run("POST", endpoint, None, data, what, exists=exists)

    def _run(
        self,
        method: str,
        endpoint: str,
        params: Mapping[str, Any] | None,
        data: Any,
        what: str | None,
        *,
        exists: Callable[[], bool] | None,
    ) -> requests.Response | None:
        method = method.upper()
        idempotent = method in IDEMPOTENT_METHODS
        label = what or f"{method} {endpoint}"
        attempt = 0
        while True:
            attempt += 1
            last = attempt >= self.retry.attempts
            try:
                response = self._send(method, endpoint, params, data)
            except requests.RequestException as exc:
                kind = "timed out" if isinstance(exc, requests.Timeout) else "connection failed"
                message = f"{label}: {kind} ({type(exc).__name__}: {redact(str(exc))})"
                if not idempotent and not _never_sent(exc):
                    if exists is None or last:
                        raise OutcomeUnknown(message + "; the request may have taken effect") from exc
                    self._sleep(self.retry.delay(attempt))
                    if exists():
                        return None
                    continue
                if last:
                    raise TransientPlatformError(message) from exc
                self._sleep(self.retry.delay(attempt))
                continue
            if response.status_code < 400:
                return response
            error = error_for(response, label, unknown_outcome=not idempotent)
            if last or isinstance(error, AuthenticationFailed | NotFound | RejectedByPlatform):
                raise error
            refused_nonce = response.status_code == 401 and isinstance(error, TransientPlatformError)
            if response.status_code == 429 or refused_nonce or (idempotent and response.status_code >= 500):
                self._sleep(self.retry.delay(attempt, _retry_after(response)))
                continue
            if isinstance(error, OutcomeUnknown) and exists is not None:
                self._sleep(self.retry.delay(attempt))
                if exists():
                    return None
                continue
            raise error

    def _send(
        self, method: str, endpoint: str, params: Mapping[str, Any] | None, data: Any
    ) -> requests.Response:
        query = {k: _query_value(v) for k, v in (params or {}).items()}
        if method == "GET":
            return self._api.get(endpoint, params=query)  # type: ignore[no-any-return]
        if method == "POST":
            return self._api.post(endpoint, data, params=query)  # type: ignore[no-any-return]
        if method == "PUT":
            return self._api.put(endpoint, data, params=query)  # type: ignore[no-any-return]
        if method == "DELETE":
            return self._api.delete(endpoint, params=query)  # type: ignore[no-any-return]
        raise ValueError(f"unsupported method {method}")

    def get_json(
        self, endpoint: str, params: Mapping[str, Any] | None = None, *, what: str | None = None
    ) -> Any:
        return _json(self.request("GET", endpoint, params=params, what=what), what or endpoint)

    def paginate(
        self, endpoint: str, params: Mapping[str, Any] | None = None, *, what: str | None = None
    ) -> Iterator[Any]:
        """Every item of a collection, page by page (``per_page=100``, ``X-WP-TotalPages``)."""
        page = 1
        base = dict(params or {})
        base.setdefault("per_page", 100)
        while True:
            response = self.request("GET", endpoint, params={**base, "page": page}, what=what)
            items = _json(response, what or endpoint)
            if not isinstance(items, list):
                raise PlatformError(f"{what or endpoint}: expected a JSON array, got {type(items).__name__}")
            yield from items
            total_pages = _int_header(response, "X-WP-TotalPages")
            if not items or (total_pages is not None and page >= total_pages):
                return
            if total_pages is None and len(items) < int(base["per_page"]):
                return
            page += 1


def _query_value(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def _int_header(response: requests.Response, name: str) -> int | None:
    value = response.headers.get(name)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return None


def parse_json(text: str) -> Any:
    """JSON from a WordPress answer, tolerating PHP notices printed before it.

    With ``WP_DEBUG_DISPLAY`` on, a deprecation notice (``<br />\n<b>Deprecated</b>: ...``) from
    any plugin lands in front of the REST API's JSON while the request itself succeeded. The
    JSON is then read from the first ``{`` or ``[`` on. Raises ValueError when there is none.
    """
    try:
        return json.loads(text)
    except ValueError:
        starts = [i for i in (text.find("{"), text.find("[")) if i > 0]
        if not starts:
            raise
        return json.loads(text[min(starts) :])


def _json(response: requests.Response, what: str) -> Any:
    try:
        return parse_json(response.text)
    except ValueError:
        raise PlatformError(
            f"{what}: the shop answered HTTP {response.status_code} with something that is not JSON "
            f"({redact(response.text[:120])!r}); is the URL the WordPress site address?",
            status=response.status_code,
        ) from None
