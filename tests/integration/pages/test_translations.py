"""Every message of the customer pages has a Polish translation with the same placeholders.

The messages are extracted the way ``pybabel extract`` does (Jinja2's Babel extractor for the
templates, Babel's Python extractor for the ``N_()`` marks), so a new English string without
a Polish line in ``pages.po`` fails here instead of showing up in English on a Polish page.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

PAGES = Path(str(resources.files("aftersales.web.pages")))
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _source_messages() -> set[str]:
    method_map = [("templates/**.html", "jinja2.ext:babel_extract"), ("*.py", "python")]
    options = {"templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    return {
        message
        for _file, _line, message, _comments, _context in extract_from_dir(str(PAGES), method_map, options)
        if isinstance(message, str)
    }


def _catalog() -> dict[str, str]:
    with (PAGES / "locale" / "pl" / "LC_MESSAGES" / "pages.po").open("rb") as handle:
        catalog = read_po(handle, locale="pl")
    return {str(m.id): str(m.string) for m in catalog if m.id}


def test_every_page_message_has_a_polish_translation() -> None:
    messages = _source_messages()
    assert len(messages) > 100  # the extraction found the templates and the marks
    catalog = _catalog()
    missing = sorted(m for m in messages if not catalog.get(m))
    assert missing == []


def test_translations_keep_the_placeholders() -> None:
    for msgid, msgstr in _catalog().items():
        assert sorted(PLACEHOLDER.findall(msgid)) == sorted(PLACEHOLDER.findall(msgstr)), msgid


def test_the_catalog_holds_no_stale_messages() -> None:
    stale = sorted(set(_catalog()) - _source_messages())
    assert stale == []
