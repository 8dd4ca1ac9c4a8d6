"""Signed links that let a customer open their case's status page without an account.

Every message carries one (a status page reachable "through a signed link in every
message"): the token names the shop and the case and is signed with the server's secret
key, so a customer cannot walk to someone else's case by changing a number in the URL. The
links do not expire on purpose: a complaint answer is read weeks later, and the page shows
nothing a customer did not already receive by e-mail.

The key comes from ``AFTERSALES_SECRET_KEY``; without it one is generated on first start and
kept in ``AFTERSALES_SECRET_KEY_FILE`` (default ``./.aftersales-secret-key``, mode 0600) so
links survive restarts. Several processes on several machines must share the variable.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Protocol

from itsdangerous import BadSignature, URLSafeSerializer

SECRET_ENV = "AFTERSALES_SECRET_KEY"
SECRET_FILE_ENV = "AFTERSALES_SECRET_KEY_FILE"
DEFAULT_SECRET_FILE = ".aftersales-secret-key"
PUBLIC_URL_ENV = "AFTERSALES_PUBLIC_URL"
DEFAULT_PUBLIC_URL = "http://localhost:8000"
_SALT = "aftersales.case-status.v1"


class InvalidLink(ValueError):
    """A status token that was not signed by this server (or was edited)."""


class CaseRef(Protocol):
    """Anything with a case id and its shop: ``aftersales.domain.Case`` or a ``CaseRow``."""

    @property
    def id(self) -> str: ...

    @property
    def shop_id(self) -> str: ...


def secret_key_path() -> Path:
    return Path(os.environ.get(SECRET_FILE_ENV) or DEFAULT_SECRET_FILE)


def secret_key() -> str:
    """The server secret: the environment's, else the stored one, else a new one stored now."""
    from_env = os.environ.get(SECRET_ENV)
    if from_env:
        return from_env
    path = secret_key_path()
    try:
        existing = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        existing = ""
    if existing:
        return existing
    fresh = secrets.token_urlsafe(48)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: when two processes start at once, exactly one key is written and both use it
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="utf-8").strip() or fresh
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(fresh + "\n")
    return fresh


def public_base_url() -> str:
    return (os.environ.get(PUBLIC_URL_ENV) or DEFAULT_PUBLIC_URL).rstrip("/")


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(secret_key(), salt=_SALT)


def status_token(case: CaseRef) -> str:
    return str(_serializer().dumps({"s": case.shop_id, "c": case.id}))


def status_url(case: CaseRef) -> str:
    """The absolute URL of the case's status page, e.g. ``https://shop.example/status/eyJ…``."""
    return f"{public_base_url()}/status/{status_token(case)}"


def read_status_token(token: str) -> tuple[str, str]:
    """``(shop_id, case_id)`` of a token made by :func:`status_token`; :class:`InvalidLink` otherwise."""
    try:
        data = _serializer().loads(token)
    except BadSignature as exc:
        raise InvalidLink("the link is not valid") from exc
    if not isinstance(data, dict) or not isinstance(data.get("s"), str) or not isinstance(data.get("c"), str):
        raise InvalidLink("the link is not valid")
    return data["s"], data["c"]
