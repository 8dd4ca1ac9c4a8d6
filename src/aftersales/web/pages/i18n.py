"""Polish and English for the customer pages: gettext catalogs (Babel) and the visitor's language.

The templates are written once, in English, with ``{{ _("...") }}`` and ``{% trans %}``
(Jinja2's i18n extension, new-style gettext); the Polish text lives in a standard gettext
catalog, ``locale/pl/LC_MESSAGES/pages.po``, which translators edit with the usual tools and
``pybabel extract -F babel.cfg`` can refresh. The catalog is compiled in memory at import
(Babel's ``read_po`` → ``write_mo`` → :class:`babel.support.Translations`), so no build step
produces ``.mo`` files and a stale ``.mo`` can never disagree with the ``.po`` beside it.

The language is, in order: ``?lang=`` (the switcher in the page header, remembered in a
cookie), that cookie, the browser's ``Accept-Language``, and the shop's own language. Dates and
amounts are formatted by Babel for the language and in the shop's time zone: a withdrawal
receipt's "received on" must read the same on the page as in the e-mail.
"""

from __future__ import annotations

import gettext as stdlib_gettext
from datetime import date, datetime
from decimal import Decimal
from importlib import resources
from io import BytesIO
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency
from babel.support import Translations
from jinja2 import pass_context
from jinja2.runtime import Context

LANGUAGES = ("pl", "en")
DEFAULT_LANGUAGE = "en"
COOKIE = "aftersales_lang"


def N_(message: str) -> str:
    """Mark a message for the catalog without translating it yet (translated when rendered)."""
    return message


def _load(language: str) -> stdlib_gettext.NullTranslations:
    source = resources.files("aftersales.web.pages").joinpath("locale", language, "LC_MESSAGES", "pages.po")
    try:
        with source.open("rb") as handle:
            catalog = read_po(handle, locale=language)
    except FileNotFoundError:
        return stdlib_gettext.NullTranslations()
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(fp=compiled)


CATALOGS: dict[str, stdlib_gettext.NullTranslations] = {
    "en": stdlib_gettext.NullTranslations(),
    "pl": _load("pl"),
}


def translate(language: str, message: str) -> str:
    return CATALOGS.get(language, CATALOGS[DEFAULT_LANGUAGE]).gettext(message)


def _language(tag: str | None) -> str | None:
    if not tag:
        return None
    primary = tag.strip().replace("_", "-").split("-")[0].lower()
    return primary if primary in LANGUAGES else None


def accepted_languages(header: str) -> list[str]:
    """``Accept-Language`` (RFC 9110 §12.5.4) as our languages, most preferred first."""
    ranked: list[tuple[float, int, str]] = []
    for index, item in enumerate(header.split(",")[:20]):
        tag, _, params = item.strip().partition(";")
        weight = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                weight = float(params[2:])
            except ValueError:
                weight = 0.0
        language = _language(tag)
        if language is not None and weight > 0:
            ranked.append((-weight, index, language))
    return list(dict.fromkeys(language for _, _, language in sorted(ranked)))


def choose_language(
    query: str | None, cookie: str | None, accept: str | None, fallback: str | None = None
) -> str:
    for candidate in (_language(query), _language(cookie)):
        if candidate is not None:
            return candidate
    preferred = accepted_languages(accept or "")
    if preferred:
        return preferred[0]
    return _language(fallback) or DEFAULT_LANGUAGE


# -- Jinja2 callables ---------------------------------------------------------------------------------


@pass_context
def gettext(ctx: Context, message: str) -> str:
    return translate(str(ctx.get("lang") or DEFAULT_LANGUAGE), message)


@pass_context
def ngettext(ctx: Context, singular: str, plural: str, n: int) -> str:
    catalog = CATALOGS.get(str(ctx.get("lang") or DEFAULT_LANGUAGE), CATALOGS[DEFAULT_LANGUAGE])
    return catalog.ngettext(singular, plural, n)


def _zone(ctx: Context) -> ZoneInfo:
    return ZoneInfo(str(ctx.get("timezone") or "UTC"))


@pass_context
def format_when(ctx: Context, value: datetime | str | None, fmt: str = "long") -> str:
    """``March 2, 2026, 10:00 AM CET`` / ``2 marca 2026, 10:00 CET`` (``medium``: a shorter date).

    The zone's abbreviation is kept: the date and time of a withdrawal statement are a legal
    fact, and the customer may be in another time zone than the shop.
    """
    if value is None:
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    local = moment.astimezone(_zone(ctx))
    lang = str(ctx.get("lang"))
    day = format_date(local.date(), format=fmt, locale=lang)
    return f"{day}, {format_time(local.time(), format='short', locale=lang)} {local.tzname() or ''}".strip()


@pass_context
def format_day(ctx: Context, value: datetime | date | str | None, fmt: str = "long") -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    day = value.astimezone(_zone(ctx)).date() if isinstance(value, datetime) else value
    return str(format_date(day, format=fmt, locale=str(ctx.get("lang"))))


@pass_context
def format_money(ctx: Context, amount: Decimal | str | None, currency: str) -> str:
    if amount is None:
        return ""
    return str(format_currency(Decimal(str(amount)), currency, locale=str(ctx.get("lang"))))


FILTERS: dict[str, Any] = {"when": format_when, "day": format_day, "money": format_money}
