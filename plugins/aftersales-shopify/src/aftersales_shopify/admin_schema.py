"""The Shopify Admin GraphQL schema the plugin is tested against (API version 2026-07).

``schema/admin-2026-07.graphql.gz`` is the SDL captured by live introspection of a development
store (published in airhorns/shopify-draft-proxy, Apache-2.0). The fake shop validates every
request against it and the test suite validates every document in ``graphql/``.

Building it takes about 2 s, so it is built once per process and shared. graphql-core 3.3 needs
``assume_valid=True``: its schema check objects to four deprecations in Shopify's interfaces.
"""

from __future__ import annotations

import gzip
import threading
from importlib import resources

from graphql import GraphQLError, GraphQLSchema, build_schema, parse, validate

SCHEMA_VERSION = "2026-07"
"""The API version of the bundled schema."""

_lock = threading.Lock()
_schemas: dict[str, GraphQLSchema] = {}


def schema_sdl(version: str = SCHEMA_VERSION) -> str:
    node = resources.files("aftersales_shopify").joinpath("schema", f"admin-{version}.graphql.gz")
    if not node.is_file():
        raise FileNotFoundError(f"no bundled Admin GraphQL schema for API version {version}")
    with node.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as text:
        return text.read()


def admin_schema(version: str = SCHEMA_VERSION) -> GraphQLSchema:
    """The built schema, once per process (thread-safe)."""
    with _lock:
        schema = _schemas.get(version)
        if schema is None:
            schema = build_schema(schema_sdl(version), assume_valid=True)
            _schemas[version] = schema
        return schema


def validation_errors(document: str, version: str = SCHEMA_VERSION) -> list[GraphQLError]:
    """[] when ``document`` parses and validates against the schema."""
    try:
        ast = parse(document)
    except GraphQLError as exc:
        return [exc]
    return list(validate(admin_schema(version), ast))
