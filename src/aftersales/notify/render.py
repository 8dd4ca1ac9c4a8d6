"""Rendering of customer and merchant messages: Jinja2 templates per event and language.

One file per event and language, ``templates/<language>/<event>.jinja``, with three blocks:
``subject``, ``text`` (the text/plain part) and ``html`` (placed into ``layout.jinja``). The
same file is compiled twice — without autoescaping for the subject and plain text (an
apostrophe in a name must not become ``&#39;`` in a mail client) and with autoescaping for
the HTML part (a customer-typed complaint must not inject markup).

Dates, times and amounts are formatted with Babel for the message's locale (``15 maja 2026``,
``1 234,50 zł`` in Polish; ``May 15, 2026``, ``PLN 1,234.50`` in English), in the shop's time
zone, because a legal deadline shown in the wrong zone or format is a different deadline to
the reader.

Undefined variables are errors (``StrictUndefined``): a receipt with a blank deadline is worse
than a message that is not sent, and the outbox retries once the caller is fixed. Each
template's required context is listed in :data:`TEMPLATES` and checked before rendering.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime
from babel.numbers import format_currency
from jinja2 import Environment, PackageLoader, StrictUndefined, TemplateNotFound, pass_context
from jinja2.runtime import Context

from aftersales.domain import Money

LANGUAGES = ("pl", "en")
"""Languages with a full set of templates; anything else falls back to English."""
DEFAULT_TIMEZONE = "Europe/Warsaw"


@dataclass(frozen=True)
class TemplateSpec:
    audience: str
    """``customer`` or ``merchant``."""
    required: tuple[str, ...]
    """Context keys the template cannot do without (besides ``shop_name`` and ``status_url``)."""
    optional: tuple[str, ...] = ()
    case_link: bool = True
    """Carries the signed status-page link (every case message does; restock alerts have no case)."""


TEMPLATES: dict[str, TemplateSpec] = {
    "withdrawal_receipt": TemplateSpec(
        "customer", ("order_number", "received_at"), ("lines", "refund_by", "customer_name")
    ),
    "return_received": TemplateSpec("customer", ("order_number", "received_at"), ("lines", "customer_name")),
    "refund_sent": TemplateSpec("customer", ("order_number", "amount"), ("method", "customer_name")),
    "return_declined": TemplateSpec("customer", ("order_number", "reason"), ("customer_name",)),
    "complaint_received": TemplateSpec(
        "customer", ("case_number", "received_at", "answer_by"), ("order_number", "product", "customer_name")
    ),
    "complaint_answer": TemplateSpec(
        "customer", ("case_number", "accepted", "answer"), ("remedy", "customer_name", "order_number")
    ),
    "complaint_deemed_accepted": TemplateSpec(
        "customer", ("case_number", "received_at", "answer_by"), ("remedy", "customer_name")
    ),
    "complaint_reminder": TemplateSpec(
        "merchant",
        ("case_number", "answer_by", "received_at"),
        ("customer_email", "order_number", "product", "status_url"),
        case_link=False,
    ),
    "repair_delayed": TemplateSpec(
        "customer", ("case_number", "expected_by"), ("reason", "loaner", "customer_name")
    ),
    "guarantee_payout": TemplateSpec(
        "customer", ("order_number", "amount", "promised_by"), ("dispatched_at", "method", "customer_name")
    ),
    "restock_confirm": TemplateSpec(
        "customer", ("product_name", "confirm_url", "unsubscribe_url"), case_link=False
    ),
    "restock_alert": TemplateSpec(
        "customer", ("product_name", "product_url", "unsubscribe_url"), ("available",), case_link=False
    ),
    "case_status": TemplateSpec(
        "customer", ("case_number", "status"), ("status_label", "note", "customer_name")
    ),
}
"""Every built-in template with the context it needs; plugins may add more template files."""


class MissingContext(KeyError):
    """The caller did not pass what the template needs (the message is not rendered)."""


class UnknownTemplate(LookupError):
    pass


def language_of(locale: str | None) -> str:
    """``pl_PL``, ``pl-PL``, ``pl`` → ``pl``; unknown or unsupported → ``en``."""
    if not locale:
        return "en"
    try:
        language = Locale.parse(locale.replace("-", "_")).language
    except (ValueError, UnknownLocaleError):
        return "en"
    return language if language in LANGUAGES else "en"


def _babel_locale(ctx: Context) -> str:
    return str(ctx.get("locale") or "en")


def _zone(ctx: Context) -> ZoneInfo:
    return ZoneInfo(str(ctx.get("timezone") or DEFAULT_TIMEZONE))


def _as_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        return datetime.fromisoformat(value)
    raise TypeError(f"not a datetime: {value!r}")


def _as_date(value: Any, zone: ZoneInfo) -> date:
    if isinstance(value, datetime):
        return value.astimezone(zone).date() if value.tzinfo else value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        return _as_date(datetime.fromisoformat(value), zone) if "T" in value else date.fromisoformat(value)
    raise TypeError(f"not a date: {value!r}")


@pass_context
def _format_date(ctx: Context, value: Any, fmt: str = "long") -> str:
    return str(format_date(_as_date(value, _zone(ctx)), format=fmt, locale=_babel_locale(ctx)))


@pass_context
def _format_datetime(ctx: Context, value: Any, fmt: str = "medium") -> str:
    moment = _as_datetime(value)
    return str(format_datetime(moment, format=fmt, tzinfo=_zone(ctx), locale=_babel_locale(ctx)))


@pass_context
def _format_money(ctx: Context, value: Any, currency: str | None = None) -> str:
    if isinstance(value, Money):
        amount, code = value.amount, value.currency
    elif isinstance(value, Mapping):
        amount, code = Decimal(str(value["amount"])), str(value["currency"])
    else:
        amount, code = Decimal(str(value)), str(currency or ctx.get("currency") or "PLN")
    return str(format_currency(amount, code, locale=_babel_locale(ctx)))


def _environment(autoescape: bool) -> Environment:
    env = Environment(
        loader=PackageLoader("aftersales.notify", "templates"),
        autoescape=autoescape,  # noqa: S701 - False only for the subject and text/plain parts
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.filters["date"] = _format_date
    env.filters["datetime"] = _format_datetime
    env.filters["money"] = _format_money
    return env


_TEXT = _environment(autoescape=False)
_WHITESPACE = re.compile(r"[ \t\r\n]+")
_HTML = _environment(autoescape=True)


def _complete(context: Mapping[str, Any], locale: str) -> dict[str, Any]:
    """Fill what can be derived: case number, order number, the signed status link."""
    full = dict(context)
    full["locale"] = locale
    full.setdefault("timezone", DEFAULT_TIMEZONE)
    full.setdefault("shop_name", "")
    case = full.get("case")
    if case is not None:
        full.setdefault("case_number", getattr(case, "number", None))
        if "status_url" not in full:
            from aftersales.web.links import status_url  # signing lives beside the page that checks it

            full["status_url"] = status_url(case)
    return full


def _block(env: Environment, name: str, block: str, context: dict[str, Any]) -> str:
    template = env.get_template(name)
    rendered = "".join(template.blocks[block](template.new_context(context)))
    return rendered.strip()


def render_message(template: str, locale: str, context: Mapping[str, Any]) -> tuple[str, str, str]:
    """``(subject, text, html)`` of ``template`` in ``locale`` for ``context``.

    ``context`` may carry ``case`` (its number and signed status link are derived),
    ``shop_name``, ``timezone`` (IANA, default Europe/Warsaw) and the template's keys from
    :data:`TEMPLATES`. Raises :class:`UnknownTemplate` or :class:`MissingContext`.
    """
    language = language_of(locale)
    name = f"{language}/{template}.jinja"
    given = (locale or "").replace("-", "_")
    # format in the caller's regional variant (en_GB dates) when its language has templates
    full = _complete(context, given if given.split("_")[0].lower() == language else language)
    spec = TEMPLATES.get(template)
    if spec is not None:
        needed = (*spec.required, "status_url") if spec.case_link else spec.required
        missing = [key for key in needed if full.get(key) is None]
        if missing:
            raise MissingContext(f"template {template!r} needs context: {', '.join(missing)}")
        for key in spec.optional:
            full.setdefault(key, None)
    try:
        # one line; keeps Babel's no-break spaces (1\xa0234,50\xa0zł) so clients never wrap inside an amount
        subject = _WHITESPACE.sub(" ", _block(_TEXT, name, "subject", full))
        text = _block(_TEXT, name, "text", full) + "\n"
        html = _HTML.get_template(name).render(full)
    except TemplateNotFound as exc:
        raise UnknownTemplate(f"no template {template!r} for language {language!r}") from exc
    return subject, text, html
