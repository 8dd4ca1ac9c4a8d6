"""Hypothesis against the live webhook route: hostile bodies and headers never cause a 5xx and
nothing unsigned (or signed with another shop's secret) ever reaches the inbox."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from aftersales.store.models import InboxItem

HEADER_NAMES = st.sampled_from(
    ["X-Acme-Topic", "X-Acme-Webhook-Id", "X-Acme-Signature", "Content-Type", "X-Forwarded-For", "Cookie"]
)
HEADER_VALUES = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=0, max_size=80
).map(str.strip)
BODIES = st.one_of(
    st.binary(max_size=2048),
    st.text(max_size=300).map(str.encode),
    st.from_regex(rb"\Awebhook_id=\d{1,6}\Z"),
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
        max_leaves=10,
    ).map(lambda v: json.dumps(v).encode()),
)
SEGMENTS = st.sampled_from(["acme", "shop-a", "shop-b", "woocommerce", "nosuch", "%2e%2e", "a" * 300])
SIGNING = st.sampled_from(["none", "own", "other-shop", "random"])


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    body=BODIES,
    extra=st.dictionaries(HEADER_NAMES, HEADER_VALUES, max_size=5),
    platform=SEGMENTS,
    shop=SEGMENTS,
    signing=SIGNING,
    webhook_id=st.text(
        alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=40
    ),
)
def test_random_requests_never_5xx_and_never_accepted_unsigned(
    sender: Any,
    sessions: sessionmaker[Session],
    shops: dict[str, str],
    kit: Any,
    body: bytes,
    extra: dict[str, str],
    platform: str,
    shop: str,
    signing: str,
    webhook_id: str,
) -> None:
    headers = dict(extra)
    headers.setdefault("X-Acme-Webhook-Id", webhook_id)
    headers.setdefault("X-Acme-Topic", "order.updated")
    rightful = platform == "acme" and shop in shops and signing == "own"
    if signing == "own" and shop in shops:
        headers["X-Acme-Signature"] = kit.sign(body, shops[shop])
    elif signing == "other-shop":
        other = "shop-b" if shop == "shop-a" else "shop-a"
        headers["X-Acme-Signature"] = kit.sign(body, shops[other])
    elif signing == "random":
        headers["X-Acme-Signature"] = kit.sign(body, "not-any-shops-secret")

    with sessions() as session:
        before = session.scalar(select(InboxItem.id).order_by(InboxItem.id.desc()).limit(1)) or 0
    response = sender.client.post(f"/webhooks/{platform}/{shop}", content=body, headers=headers)

    assert response.status_code < 500, response.text
    with sessions() as session:
        new_rows = list(session.scalars(select(InboxItem).where(InboxItem.id > before)))
    if not rightful:
        assert new_rows == [], f"{signing} request reached the inbox with {response.status_code}"
        assert response.status_code != 200 or response.json()["status"] == "pong"
    for row in new_rows:
        assert row.shop_id == shop and row.body == body
