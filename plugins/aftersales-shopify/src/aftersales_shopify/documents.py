"""Every GraphQL document the plugin sends, loaded by name from ``graphql/*.graphql``.

Why files and not strings in the code: one place to read what we ask Shopify, and one place the
schema test walks (``all_documents()``), so a field Shopify renames breaks a test instead of a
refund. Fragments live in ``graphql/fragments/`` and are appended to a document when it spreads
them (``...Money``), transitively, so each document sent is complete on its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Literal

from graphql import OperationDefinitionNode, OperationType, parse

_PACKAGE = "aftersales_shopify"
_SPREAD = re.compile(r"\.\.\.\s*([A-Z]\w*)")


class UnknownDocument(KeyError):
    """No ``graphql/<name>.graphql`` in the package."""


@dataclass(frozen=True)
class Document:
    """One operation ready to send: its full text (fragments included) and what it is."""

    name: str
    text: str
    operation: Literal["query", "mutation"]
    root_field: str

    @property
    def is_mutation(self) -> bool:
        return self.operation == "mutation"


def _read(*parts: str) -> str | None:
    node = resources.files(_PACKAGE).joinpath("graphql", *parts)
    if not node.is_file():
        return None
    return node.read_text(encoding="utf-8")


@cache
def _fragment(name: str) -> str:
    text = _read("fragments", f"{name}.graphql")
    if text is None:
        raise UnknownDocument(
            f"GraphQL fragment {name!r} is spread but graphql/fragments/{name}.graphql is missing"
        )
    return text


def _with_fragments(body: str) -> str:
    """``body`` followed by every fragment it spreads, each once, in a stable order."""
    needed: list[str] = []
    pending = _SPREAD.findall(body)
    while pending:
        name = pending.pop(0)
        if name in needed:
            continue
        needed.append(name)
        pending.extend(_SPREAD.findall(_fragment(name)))
    return "\n".join([body.rstrip(), *(_fragment(n).rstrip() for n in needed)]) + "\n"


@cache
def load(name: str) -> Document:
    """The document ``graphql/<name>.graphql`` with its fragments."""
    body = _read(f"{name}.graphql")
    if body is None:
        raise UnknownDocument(f"no GraphQL document named {name!r} (graphql/{name}.graphql)")
    text = _with_fragments(body)
    operations = [d for d in parse(text).definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) != 1:
        raise ValueError(f"graphql/{name}.graphql must hold exactly one operation, found {len(operations)}")
    op = operations[0]
    if op.name is None or op.name.value != name:
        raise ValueError(f"the operation in graphql/{name}.graphql must be named {name!r}")
    if op.operation not in (OperationType.QUERY, OperationType.MUTATION):
        raise ValueError(f"graphql/{name}.graphql: subscriptions are not used")
    first = op.selection_set.selections[0]
    root_field = getattr(getattr(first, "name", None), "value", "")
    kind: Literal["query", "mutation"] = "mutation" if op.operation is OperationType.MUTATION else "query"
    return Document(name=name, text=text, operation=kind, root_field=root_field)


def names() -> list[str]:
    """Names of every operation document shipped with the plugin."""
    folder = resources.files(_PACKAGE).joinpath("graphql")
    return sorted(p.name.removesuffix(".graphql") for p in folder.iterdir() if p.name.endswith(".graphql"))


def all_documents() -> list[Document]:
    return [load(n) for n in names()]
