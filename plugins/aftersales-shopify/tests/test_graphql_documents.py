"""Every GraphQL document the plugin can send is valid against the Admin schema (2026-07).

The schema is the SDL introspected from a real store (bundled in the package); it is built once
per session. The fake shop validates every request at run time as well, so a document that
drifts from the schema fails both here and in every test that sends it.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from graphql import parse

from aftersales_shopify import documents
from aftersales_shopify.admin_schema import SCHEMA_VERSION, admin_schema, validation_errors
from aftersales_shopify.testing import FakeShopify
from aftersales_shopify.testing._cost import MAX_QUERY_COST, requested_cost
from aftersales_shopify.webhooks import TOPICS

ALL = documents.names()


def test_the_plugin_ships_its_documents() -> None:
    assert len(ALL) >= 20
    assert {
        "OrderFetch",
        "RefundCreate",
        "ReturnApproveRequest",
        "ReturnDeclineRequest",
        "ReturnClose",
        "ReturnProcess",
        "WebhookSubscriptionCreate",
    } <= set(ALL)


@pytest.mark.parametrize("name", ALL)
def test_document_validates_against_the_admin_schema(name: str) -> None:
    document = documents.load(name)
    assert validation_errors(document.text, SCHEMA_VERSION) == []


@pytest.mark.parametrize("name", ALL)
def test_document_stays_under_the_single_query_cost_limit(name: str) -> None:
    """Shopify refuses any single query whose requested cost exceeds 1000 points."""
    cost = requested_cost(admin_schema(), parse(documents.load(name).text))
    assert cost <= MAX_QUERY_COST


def test_refund_create_carries_the_idempotency_directive() -> None:
    text = documents.load("RefundCreate").text
    assert "refundCreate(input: $input) @idempotent(key: $key)" in text


def test_every_document_is_used_by_the_client() -> None:
    source = "".join(p.read_text() for p in Path(documents.__file__).parent.glob("*.py"))
    unused = [n for n in ALL if f'"{n}"' not in source]
    assert unused == []


def test_every_subscribed_topic_exists_in_the_schema() -> None:
    topic_enum = admin_schema().get_type("WebhookSubscriptionTopic")
    values = set(getattr(topic_enum, "values", {}))
    assert {t.graphql_enum for t in TOPICS.values()} <= values


def test_a_misspelled_field_is_caught() -> None:
    errors = validation_errors('query { order(id: "gid://shopify/Order/1") { id totalPrize } }')
    assert errors and "totalPrize" in errors[0].message


def test_unknown_document_names_are_an_error() -> None:
    with pytest.raises(documents.UnknownDocument):
        documents.load("NoSuchQuery")


def test_the_fake_shop_rejects_a_document_the_schema_does_not_allow(fake: FakeShopify) -> None:
    response = httpx.post(
        fake.graphql_url,
        json={"query": 'query { order(id: "gid://shopify/Order/1") { id refundz { id } } }'},
        headers={"X-Shopify-Access-Token": fake.token},
    )
    body = response.json()
    assert response.status_code == 200  # Shopify answers GraphQL errors inside HTTP 200
    assert "data" not in body
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "refundz" in body["errors"][0]["message"]
    assert fake.executed == []


def test_the_fake_shop_rejects_variables_of_the_wrong_type(fake: FakeShopify) -> None:
    response = httpx.post(
        fake.graphql_url,
        json={
            "query": documents.load("ReturnDeclineRequest").text,
            "variables": {"input": {"id": "gid://shopify/Return/1", "declineReason": "TOO_LATE"}},
        },
        headers={"X-Shopify-Access-Token": fake.token},
    )
    body = response.json()
    assert body.get("data") is None
    assert "TOO_LATE" in body["errors"][0]["message"]


def test_the_fake_shop_refuses_queries_over_the_cost_limit(fake: FakeShopify) -> None:
    query = "query { orders(first: 250) { nodes { id lineItems(first: 250) { nodes { id } } } } }"
    body = httpx.post(
        fake.graphql_url, json={"query": query}, headers={"X-Shopify-Access-Token": fake.token}
    ).json()
    assert body["errors"][0]["extensions"]["code"] == "MAX_COST_EXCEEDED"
