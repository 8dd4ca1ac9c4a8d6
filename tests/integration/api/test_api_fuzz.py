"""Bad input never gets a 5xx: schemathesis against ``/openapi.json``, and hypothesis on raw requests.

Schemathesis (its Python API, driven from this test so the live server of the harness is
the target) generates requests from the document — valid ones and, in negative mode, ones
that break the schemas — for every operation, with a merchant key of the shop in the path
and without one, and checks each answer: no server error, a documented status code, the
documented content type and a body that matches the documented schema.

The hypothesis tests go below the document: arbitrary bytes as bodies, arbitrary content
types, arbitrary path segments and ``Authorization`` headers, and arbitrary fields posted to
every customer page with a valid CSRF token.
"""

from __future__ import annotations

import json
import os
import string
from typing import Any
from urllib.parse import quote

import httpx
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from aftersales.web.api import OPERATIONS

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES = int(os.environ.get("AFTERSALES_FUZZ_EXAMPLES", "8"))
"""Examples per operation and caller; raise it for a deeper run (``AFTERSALES_FUZZ_EXAMPLES=200``)."""
POSITIVE, NEGATIVE = GenerationMode.POSITIVE, GenerationMode.NEGATIVE
FUZZ = settings(
    max_examples=EXAMPLES * 3,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)

SCHEMA_FUZZ = settings(FUZZ, max_examples=EXAMPLES)


def _prepare(service: Any) -> tuple[str, str]:
    """Some state for the generated requests to hit: an order, a case, a tracked variant."""
    order = service.add_order()
    service.variant_stock(0)
    with httpx.Client(base_url=service.url) as client:
        found = client.post(
            "/api/v1/shops/sklep/orders/lookup",
            json={"order_number": order["number"], "email": "john.doe@example.com"},
        )
        client.post(
            "/api/v1/shops/sklep/withdrawals",
            json={"order_pass": found.json()["order_pass"], "confirmed": True},
        )
    return service.api_key(), service.api_key("inny")


def test_schemathesis_finds_no_server_error_and_no_undocumented_answer(service: Any) -> None:
    key, other_key = _prepare(service)
    schema = schemathesis.openapi.from_url(f"{service.url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == len(OPERATIONS)
    failures: list[str] = []
    for operation in operations:
        merchant = "security" in operation.definition.raw
        if merchant:  # the shop's key, another shop's key, none
            runs = [
                (key, "sklep", POSITIVE),
                (key, "sklep", NEGATIVE),
                (other_key, "sklep", POSITIVE),
                (None, None, POSITIVE),
            ]
        else:  # a real shop, any shop
            runs = [(None, "sklep", POSITIVE), (None, "sklep", NEGATIVE), (None, None, POSITIVE)]
        for auth, shop, mode in runs:
            headers = {"Authorization": f"Bearer {auth}"} if auth else None
            path = {"shop_id": shop} if shop and "{shop_id}" in operation.path else None
            strategy = operation.as_strategy(mode, headers=headers, path_parameters=path)

            @SCHEMA_FUZZ
            @given(case=strategy)
            def run(case: Any) -> None:
                response = case.call(base_url=service.url, timeout=15)
                case.validate_response(response, checks=CHECKS)

            try:
                run()
            except Unsatisfiable:  # nothing left to break (every parameter is fixed): no negative cases
                continue
            except Exception as exc:  # collect, so one report names every failing operation
                failures.append(f"{operation.label} [{mode.value}, key={'yes' if auth else 'no'}]: {exc}")
    assert failures == [], "\n\n".join(failures)


# -- below the document --------------------------------------------------------------------------------

_POSTS = [op.path for op in OPERATIONS if op.method == "POST"]
_GETS = [op.path for op in OPERATIONS if op.method == "GET"]
_segment = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=40).filter(
    lambda s: s.strip("/") == s and "/" not in s and s not in (".", "..")
)
_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=12,
)


def _fill(path: str, shop: str, segment: str) -> str:
    """The path with its parameters filled in, percent-encoded as a client must send them."""
    value = quote(segment, safe="")
    return (
        path.replace("{shop_id}", quote(shop, safe=""))
        .replace("{case_number}", value)
        .replace("{token}", value)
    )


@FUZZ
@given(
    path=st.sampled_from(_POSTS),
    shop=st.sampled_from(["sklep", "inny", "nope"]),
    body=st.one_of(st.binary(max_size=300), _json_values.map(lambda v: json.dumps(v).encode())),
    content_type=st.sampled_from(
        ["application/json", "application/json; charset=utf-8", "text/plain", "", "multipart/form-data"]
    ),
    segment=_segment,
)
def test_arbitrary_bodies_never_cause_a_server_error(
    service: Any, path: str, shop: str, body: bytes, content_type: str, segment: str
) -> None:
    headers = {"Authorization": f"Bearer {service.api_key()}"}
    if content_type:
        headers["Content-Type"] = content_type
    with httpx.Client(base_url=service.url, timeout=15) as client:
        answer = client.post(_fill(path, shop, segment), content=body, headers=headers)
    assert answer.status_code < 500, answer.text
    assert answer.headers["content-type"].startswith("application/json"), answer.text


@FUZZ
@given(
    path=st.sampled_from(_GETS),
    segment=_segment,
    authorization=st.one_of(st.none(), st.text(alphabet=string.printable.strip(), max_size=60)),
    query=st.dictionaries(
        st.sampled_from(["type", "status", "limit", "offset", "opened_from", "month", "x"]),
        st.text(max_size=20),
        max_size=4,
    ),
)
def test_arbitrary_paths_queries_and_keys_never_cause_a_server_error(
    service: Any, path: str, segment: str, authorization: str | None, query: dict[str, str]
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    with httpx.Client(base_url=service.url, timeout=15) as client:
        answer = client.get(_fill(path, "sklep", segment), params=query, headers=headers)
    assert answer.status_code < 500, answer.text
    assert answer.status_code in (200, 401, 403, 404, 422)


_PAGES = ["/s/sklep/", "/s/sklep/complaint", "/s/sklep/restock/subscribe?variant_id=501"]
_fields = st.dictionaries(
    st.sampled_from(
        [
            "order_number",
            "email",
            "description",
            "remedy",
            "qty_315",
            "qty_316",
            "reason",
            "variant_id",
            "request_id",
            "order_pass",
            "statement",
        ]
    ),
    st.text(max_size=50),
    max_size=6,
)


@FUZZ
@given(page=st.sampled_from(_PAGES), fields=_fields)
def test_arbitrary_form_fields_on_the_pages_never_cause_a_server_error(
    service: Any, page: str, fields: dict[str, str]
) -> None:
    with service.client() as browser:
        form = browser.get(page)
        assert form.status_code == 200
        answer = browser.post(page, data={**fields, "csrf_token": service.csrf(form.text)})
    assert answer.status_code < 500, answer.text
