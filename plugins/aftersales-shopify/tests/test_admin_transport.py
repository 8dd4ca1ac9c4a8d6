"""The Admin GraphQL transport against a real HTTP server: throttling, 5xx, lost responses, auth.

THROTTLED arrives inside an HTTP 200 with ``extensions.cost.throttleStatus`` (the shared fixture
graphql_throttled_response.json is a real one); the client waits (requested - available) /
restoreRate and sends again. Timings are measured with a fast restore rate so they stay short.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import shopify

from aftersales.platforms import (
    AuthenticationFailed,
    NotFound,
    OutcomeUnknown,
    PlatformError,
    StoreCredentials,
    TransientPlatformError,
)
from aftersales_shopify import DEFAULT_API_VERSION, AdminGraphQL, ShopifyPlatform, ShopifyShopClient
from aftersales_shopify.admin_api import throttle_wait
from aftersales_shopify.documents import load
from aftersales_shopify.testing import FakeShopify

ORDER_ID = "820982911946154508"


def test_the_default_api_version_is_the_newest_stable_quarter() -> None:
    assert DEFAULT_API_VERSION == "2026-07"
    api = AdminGraphQL(shop_domain="example.myshopify.com", token="t")
    assert api.api_version == "2026-07"
    assert api.url == "https://example.myshopify.com/admin/api/2026-07/graphql.json"
    api.close()


def test_the_session_canonicalises_the_shop_domain_and_version() -> None:
    api = AdminGraphQL(shop_domain="https://example.myshopify.com/admin", token="t", api_version="2025-10")
    assert api.url == "https://example.myshopify.com/admin/api/2025-10/graphql.json"
    assert api.shop_domain == "example.myshopify.com"
    api.close()


def test_the_wait_comes_from_the_reported_cost(payload: Callable[[str], Any]) -> None:
    """The shared fixture: 70 requested, 66 available, 50 restored per second → 0.08 s."""
    assert throttle_wait(payload("graphql_throttled_response")) == pytest.approx((70 - 66) / 50)


def test_throttling_backs_off_for_the_reported_time_and_succeeds(
    paid_order: Callable[..., dict[str, Any]],
) -> None:
    with FakeShopify(restore_rate=2000.0) as fake:
        fake.add_order(paid_order())
        client = ShopifyPlatform().client(fake.credentials())
        fake.throttle_next(times=2)
        started = time.monotonic()
        note = client.api.execute(load("OrderNote"), {"id": f"gid://shopify/Order/{ORDER_ID}"})
        elapsed = time.monotonic() - started
        client.close()
    assert note["order"]["id"] == f"gid://shopify/Order/{ORDER_ID}"
    assert fake.throttled == 2
    assert [name for name, _ in fake.requests] == ["OrderNote"] * 3
    # OrderNote costs 1 point; an empty bucket at 2000 points/s needs 0.5 ms per wait.
    assert elapsed < 0.5


def test_a_throttled_answer_looks_like_shopifys(fake: FakeShopify, payload: Callable[[str], Any]) -> None:
    fake.throttle_next()
    body = httpx.post(
        fake.graphql_url,
        json={"query": load("OrderNote").text, "variables": {"id": "gid://shopify/Order/1"}},
        headers={"X-Shopify-Access-Token": fake.token},
    ).json()
    sample = payload("graphql_throttled_response")
    assert body["errors"][0]["extensions"]["code"] == sample["errors"][0]["extensions"]["code"] == "THROTTLED"
    assert set(body["extensions"]["cost"]) == set(sample["extensions"]["cost"])
    assert set(body["extensions"]["cost"]["throttleStatus"]) == set(
        sample["extensions"]["cost"]["throttleStatus"]
    )
    assert "data" not in body


def test_the_wait_grows_with_the_cost_and_shrinks_with_the_restore_rate(
    paid_order: Callable[..., dict[str, Any]],
) -> None:
    """An empty bucket and a 408-point OrderFetch at 4000 points/s: about 0.1 s, measured."""
    with FakeShopify(restore_rate=4000.0) as fake:
        fake.add_order(paid_order())
        client = ShopifyPlatform().client(fake.credentials())
        fake.throttle_next()
        started = time.monotonic()
        client.api.execute(load("OrderFetch"), {"id": f"gid://shopify/Order/{ORDER_ID}"})
        elapsed = time.monotonic() - started
        client.close()
    assert 0.09 <= elapsed < 0.6


def test_a_real_bucket_runs_dry_and_the_client_keeps_going(paid_order: Callable[..., dict[str, Any]]) -> None:
    """A 500-point bucket and a 25-line order: each OrderFetch asks for 408 points up front and
    spends what it returns (~150), so back-to-back reads run the bucket dry and must wait."""
    order = paid_order()
    template = order["line_items"][0]
    order["line_items"] = [{**template, "id": 9_000_000_000_000_000_000 + i} for i in range(25)]
    order["fulfillments"] = []
    with FakeShopify(bucket_size=500.0, restore_rate=5000.0) as fake:
        fake.add_order(order)
        client = ShopifyPlatform().client(fake.credentials())
        for _ in range(4):
            client.api.execute(load("OrderFetch"), {"id": f"gid://shopify/Order/{ORDER_ID}"})
        client.close()
    assert fake.executed.count("OrderFetch") == 4
    assert fake.throttled >= 1
    assert client.api.last_cost is not None and client.api.last_cost.maximum_available == 500.0


def test_endless_throttling_gives_up_as_a_transient_error(fake: FakeShopify) -> None:
    client = ShopifyPlatform().client(fake.credentials(max_throttle_wait_seconds=0.001))
    fake.throttle_next(times=1)
    with pytest.raises(TransientPlatformError) as err:
        client.api.execute(
            load("OrderFetch"), {"id": "gid://shopify/Order/1"}
        )  # 408 points at 100/s: 4 s, too long
    assert err.value.code == "THROTTLED"
    client.close()


def test_5xx_on_a_query_is_retried(
    fake: FakeShopify, client: ShopifyShopClient, paid_order: Callable[..., dict[str, Any]]
) -> None:
    fake.add_order(paid_order())
    fake.fail_next(status=502, times=2)
    order = client.fetch_order(ORDER_ID)
    assert order.id == ORDER_ID
    assert [name for name, _ in fake.requests][:3] == ["OrderFetch"] * 3


def test_5xx_that_does_not_stop_is_a_transient_error(
    fake: FakeShopify, paid_order: Callable[..., dict[str, Any]]
) -> None:
    fake.add_order(paid_order())
    client = ShopifyPlatform().client(fake.credentials(max_attempts=3))
    fake.fail_next(status=503, times=5)
    with pytest.raises(TransientPlatformError) as err:
        client.fetch_order(ORDER_ID)
    assert err.value.status == 503
    assert len(fake.requests) == 3
    client.close()


def test_a_lost_query_response_is_simply_asked_again(
    fake: FakeShopify, client: ShopifyShopClient, paid_order: Callable[..., dict[str, Any]]
) -> None:
    fake.add_order(paid_order())
    fake.lose_next_response(operation="OrderFetch")
    assert client.fetch_order(ORDER_ID).id == ORDER_ID


def test_a_5xx_on_a_plain_mutation_means_the_outcome_is_unknown(
    fake: FakeShopify, client: ShopifyShopClient, paid_order: Callable[..., dict[str, Any]]
) -> None:
    fake.add_order(paid_order())
    fake.fail_next(status=500, operation="orderUpdate")
    with pytest.raises(OutcomeUnknown):
        client.add_note(ORDER_ID, "Zwrot przyjęty", customer_visible=False)
    assert [name for name, _ in fake.requests].count("OrderNoteUpdate") == 1  # never re-sent blindly


def test_a_note_whose_answer_was_lost_is_not_added_twice(
    fake: FakeShopify, client: ShopifyShopClient, paid_order: Callable[..., dict[str, Any]]
) -> None:
    fake.add_order(paid_order(note="Klient prosi o fakturę"))
    fake.lose_next_response(operation="orderUpdate")
    with pytest.raises(OutcomeUnknown):
        client.add_note(ORDER_ID, "Zwrot RMA-42 przyjęty", customer_visible=False)
    client.add_note(ORDER_ID, "Zwrot RMA-42 przyjęty", customer_visible=False)  # the ledger's retry
    assert fake.order_note(ORDER_ID) == "Klient prosi o fakturę\nZwrot RMA-42 przyjęty"


def test_a_rejected_token_is_an_authentication_failure(fake: FakeShopify) -> None:
    client = ShopifyPlatform().client(fake.credentials(token="shpat_revoked"))
    with pytest.raises(AuthenticationFailed) as err:
        client.fetch_order(ORDER_ID)
    assert err.value.status == 401
    client.close()


def test_an_unknown_api_version_path_is_not_found(fake: FakeShopify) -> None:
    client = ShopifyPlatform().client(fake.credentials(api_version="2019-01"))
    with pytest.raises(NotFound):
        client.fetch_order(ORDER_ID)
    client.close()


def test_a_missing_order_is_not_found(client: ShopifyShopClient) -> None:
    with pytest.raises(NotFound):
        client.fetch_order("1")


def test_a_shop_that_is_not_listening_is_a_transient_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    creds = StoreCredentials(
        url=f"http://127.0.0.1:{port}",
        token="t",
        shop_domain="x.myshopify.com",
        max_attempts=2,
        backoff_seconds=0.01,
    )
    client = ShopifyPlatform().client(creds)
    with pytest.raises(TransientPlatformError, match="cannot reach"):
        client.fetch_order(ORDER_ID)
    client.close()


def test_a_shop_that_never_answers_times_out() -> None:
    """A server that accepts and then says nothing: the read timeout ends the wait."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
                accepted.append(conn)
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    creds = StoreCredentials(
        url=f"http://127.0.0.1:{server.getsockname()[1]}",
        token="t",
        shop_domain="x.myshopify.com",
        timeout_seconds=0.2,
        max_attempts=2,
        backoff_seconds=0.01,
    )
    client = ShopifyPlatform().client(creds)
    started = time.monotonic()
    with pytest.raises(TransientPlatformError, match="no response"):
        client.fetch_order(ORDER_ID)
    assert time.monotonic() - started < 2.0
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()
    server.close()
    client.close()


def test_graphql_errors_are_platform_errors_with_shopifys_code(fake: FakeShopify) -> None:
    client = ShopifyPlatform().client(fake.credentials())
    fake.state.orders.clear()
    doc = load("OrdersChangedSince")
    with pytest.raises(PlatformError) as err:
        client.api.execute(doc, {"query": "status:open"})  # a filter the fake shop does not implement
    assert "status" in str(err.value)
    client.close()


def test_no_session_state_leaks_into_the_shopify_package(
    fake: FakeShopify, paid_order: Callable[..., dict[str, Any]]
) -> None:
    """``shopify.ShopifyResource`` keeps the active session per thread (and a class default);
    the client never activates one, so nothing of a shop's site or token is left behind."""
    fake.add_order(paid_order())
    before_site = shopify.ShopifyResource.get_site()
    client = ShopifyPlatform().client(fake.credentials())
    client.fetch_order(ORDER_ID)
    client.close()
    assert shopify.ShopifyResource.get_site() == before_site
    assert "X-Shopify-Access-Token" not in shopify.ShopifyResource.get_headers()


def test_two_shops_served_from_two_threads_never_mix(paid_order: Callable[..., dict[str, Any]]) -> None:
    with (
        FakeShopify(token="shpat_a", shop_domain="shop-a.myshopify.com") as a,
        FakeShopify(token="shpat_b", shop_domain="shop-b.myshopify.com") as b,
    ):
        a.add_order(paid_order(name="#A-1"))
        b.add_order(paid_order(name="#B-1"))
        results: dict[str, list[str]] = {"a": [], "b": []}
        errors: list[BaseException] = []

        def work(key: str, shop: FakeShopify) -> None:
            client = ShopifyPlatform().client(shop.credentials())
            try:
                for _ in range(5):
                    results[key].append(client.fetch_order(ORDER_ID).number)
            except BaseException as exc:  # reported below
                errors.append(exc)
            finally:
                client.close()

        threads = [threading.Thread(target=work, args=("a", a)), threading.Thread(target=work, args=("b", b))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []
    assert results == {"a": ["#A-1"] * 5, "b": ["#B-1"] * 5}
