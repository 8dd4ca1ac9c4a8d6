"""The fake shop itself behaves like WooCommerce where clients can tell (auth, errors, paging)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from typer.testing import CliRunner, Result
from woocommerce.oauth import OAuth

from aftersales.cli import app
from aftersales.platforms import RejectedByPlatform
from aftersales_woocommerce import RetryPolicy, WooCommerceClient
from aftersales_woocommerce.testing import FakeWooCommerce, sample_order

DATA = Path(__file__).parent / "data"
ORDERS = "/wp-json/wc/v3/orders"


def signed(fake: FakeWooCommerce, path: str, *, timestamp: int | None = None) -> str:
    oauth = OAuth(
        url=f"{fake.url}{path}",
        consumer_key=fake.consumer_key,
        consumer_secret=fake.consumer_secret,
        version="wc/v3",
        method="GET",
        oauth_timestamp=timestamp or int(time.time()),
    )
    url: str = oauth.get_oauth_url()
    return url


def test_no_credentials_is_401_with_woocommerces_error_body(fake: FakeWooCommerce) -> None:
    response = requests.get(f"{fake.url}{ORDERS}", timeout=5)
    assert response.status_code == 401
    assert response.json() == {
        "code": "woocommerce_rest_cannot_view",
        "message": "Sorry, you cannot list resources.",
        "data": {"status": 401},
    }


def test_basic_auth_and_query_keys_are_accepted(fake: FakeWooCommerce) -> None:
    ok = requests.get(f"{fake.url}{ORDERS}", auth=("ck_test", "cs_test"), timeout=5)
    assert ok.status_code == 200
    wrong = requests.get(f"{fake.url}{ORDERS}", auth=("ck_test", "nope"), timeout=5)
    assert wrong.status_code == 401
    assert wrong.json()["message"] == "Consumer secret is invalid."
    query = requests.get(f"{fake.url}{ORDERS}?consumer_key=ck_test&consumer_secret=cs_test", timeout=5)
    assert query.status_code == 200


def test_an_oauth_nonce_cannot_be_replayed(fake: FakeWooCommerce) -> None:
    url = signed(fake, ORDERS)
    assert requests.get(url, timeout=5).status_code == 200
    replay = requests.get(url, timeout=5)
    assert replay.status_code == 401
    assert "nonce" in replay.json()["message"]


def test_a_stale_oauth_timestamp_is_refused(fake: FakeWooCommerce) -> None:
    response = requests.get(signed(fake, ORDERS, timestamp=int(time.time()) - 3600), timeout=5)
    assert response.status_code == 401
    assert response.json()["message"] == "Invalid timestamp."


def test_a_tampered_oauth_query_is_refused(fake: FakeWooCommerce) -> None:
    url = signed(fake, f"{ORDERS}?status=processing")
    response = requests.get(url.replace("status=processing", "status=completed"), timeout=5)
    assert response.status_code == 401
    assert "signature" in response.json()["message"]


def test_unknown_routes_answer_rest_no_route(fake: FakeWooCommerce) -> None:
    response = requests.get(f"{fake.url}/wp-json/wc/v3/coupons", auth=("ck_test", "cs_test"), timeout=5)
    assert response.status_code == 404
    assert response.json()["code"] == "rest_no_route"


def test_collections_carry_paging_headers_and_refuse_big_pages(fake: FakeWooCommerce) -> None:
    for number in range(12):
        fake.add_order(sample_order(id=100 + number), webhook=False)
    response = requests.get(f"{fake.url}{ORDERS}?per_page=5&page=3", auth=("ck_test", "cs_test"), timeout=5)
    assert response.headers["X-WP-Total"] == "12"
    assert response.headers["X-WP-TotalPages"] == "3"
    assert len(response.json()) == 2
    client = WooCommerceClient(fake.credentials(), retry=RetryPolicy(attempts=1))
    with pytest.raises(RejectedByPlatform) as caught:
        client.rest.request("GET", "orders", params={"per_page": 500})
    assert caught.value.code == "rest_invalid_param"
    assert caught.value.status == 400


def test_the_webhook_api_never_shows_secrets(fake: FakeWooCommerce) -> None:
    fake.add_webhook("order.created", "https://example.com/hook", "topsecret")
    (hook,) = requests.get(
        f"{fake.url}/wp-json/wc/v3/webhooks", auth=("ck_test", "cs_test"), timeout=5
    ).json()
    assert "secret" not in hook
    assert hook["topic"] == "order.created"
    assert (hook["resource"], hook["event"]) == ("order", "created")


def test_update_order_bumps_the_modification_date_every_time(fake: FakeWooCommerce) -> None:
    order = fake.add_order(sample_order(), webhook=False)
    stamps = [order["date_modified_gmt"]]
    for status in ("on-hold", "processing", "completed"):
        stamps.append(fake.update_order(727, webhook=False, status=status)["date_modified_gmt"])
    assert stamps == sorted(set(stamps))  # strictly increasing, even within one second


def test_failure_modes_count_down(fake: FakeWooCommerce) -> None:
    fake.add_order(sample_order(), webhook=False)
    fake.fail_next(500, times=2, path_prefix=f"{ORDERS}/727")
    auth = ("ck_test", "cs_test")
    statuses = [requests.get(f"{fake.url}{ORDERS}/727", auth=auth, timeout=5).status_code for _ in range(3)]
    assert statuses == [500, 500, 200]
    fake.fail_next(429, path_prefix=f"{ORDERS}/727")
    limited = requests.get(f"{fake.url}{ORDERS}/727", auth=auth, timeout=5)
    assert (limited.status_code, limited.headers["Retry-After"]) == (429, "1")


# -- the core CLI calls this plugin ---------------------------------------------------------------


def cli(*args: str) -> Result:
    """The ``aftersales`` command in-process (the plugin is still found through its entry point)."""
    return CliRunner().invoke(app, list(args))


@pytest.mark.parametrize(
    ("topic", "file", "expected"),
    [
        ("order.created", "rest_v3_order_retrieve.json", ("727", "order.upserted")),
        ("product.updated", "rest_v3_product_retrieve.json", ("794", "product.upserted")),
        ("product.updated", "product_variation_webhook.json", ("23", "product.upserted")),
    ],
)
def test_webhook_normalize_prints_exact_ids(topic: str, file: str, expected: tuple[str, str]) -> None:
    result = cli("webhook", "normalize", "--platform", "woocommerce", "--topic", topic, str(DATA / file))
    assert result.exit_code == 0, result.output
    printed: dict[str, Any] = json.loads(result.stdout)
    assert (printed["shop_resource_id"], printed["type"]) == expected
    assert printed["platform"] == "woocommerce"


def test_webhook_normalize_rejects_a_malformed_body(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"status": "processing"}')
    result = cli("webhook", "normalize", "--platform", "woocommerce", "--topic", "order.updated", str(bad))
    assert result.exit_code == 1
    assert "id: Field required" in result.output
