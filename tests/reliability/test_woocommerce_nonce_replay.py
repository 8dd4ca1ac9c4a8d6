"""A refund refused for a reused OAuth nonce is refused *before* anything happened: sent again.

Found by the full-size duplicates run: two of 2,800 refunds ended ``failed`` with
``HTTP 401 woocommerce_rest_authentication_error: Invalid nonce - nonce has already been used``.
Over plain HTTP the ``woocommerce`` package signs every request with OAuth 1.0a and draws the
nonce from 10^8 values (8 random digits, ``woocommerce.oauth.OAuth.generate_nonce``); a shop
refuses a nonce it has seen (WooCommerce remembers one per second of timestamp for 15 minutes,
``WC_REST_Authentication::check_oauth_timestamp_and_nonce``; the fake shop remembers all of
them, which is why thousands of requests hit it). The plugin mapped every 401 to a permanent
``AuthenticationFailed``, so the ledger recorded the refund as ``failed`` and a person had to pay
it by hand. The refusal comes from the authentication check, before the order is touched, so
the plugin now sends the request again with a fresh nonce (regression test; over HTTPS the
package sends the keys instead of a signature and no nonce is involved).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from aftersales.domain import Money
from aftersales.engine.api import StepContext
from aftersales.engine.runtime import Runtime
from aftersales.platforms import RefundRequest
from aftersales.store.models import Effect, Shop
from aftersales_woocommerce.testing import API_PREFIX, FakeWooCommerce, sample_order

pytestmark = pytest.mark.reliability

SHOP = "rel-nonce"


def test_a_refund_refused_for_a_reused_nonce_is_sent_again_and_made_once(sqlite_url: str) -> None:
    with FakeWooCommerce(consumer_key="ck_nonce", consumer_secret="cs_nonce") as fake:
        order = sample_order(currency="PLN")
        for key in ("id", "number", "date_modified_gmt", "date_modified"):
            order.pop(key)
        order_id = str(fake.add_order(order, webhook=False)["id"])
        runtime = Runtime(sqlite_url, workflows=()).launch(worker=False)
        try:
            with runtime.transaction() as session:
                shop = Shop(
                    id=SHOP,
                    platform="woocommerce",
                    webhook_secrets=[],
                    credentials=fake.credentials().model_dump(mode="json", exclude_none=True),
                    active=True,
                    created_at=datetime.now(UTC),
                )
                session.add(shop)
                session.flush()
                key = f"nonce-test:{order_id}"
                request = RefundRequest(effect_key=key, order_id=order_id, amount=Money("5.00", "PLN"))
                StepContext(session, runtime, shop).request_effect(key, "refund", request)
            # what the shop answers when the nonce was seen before: nothing is done
            fake.fail_next(
                401,
                path_prefix=f"{API_PREFIX}/orders/{order_id}/refunds",
                method="POST",
                code="woocommerce_rest_authentication_error",
                message="Invalid nonce - nonce has already been used.",
            )
            runtime.run_until_idle(timeout=60)
            with runtime.read_session() as session:
                effect = session.get(Effect, key)
                assert effect is not None
                state, error = effect.state, effect.error
        finally:
            runtime.shutdown()
        assert (state, error) == ("confirmed", None)
        assert len(fake.refunds(order_id)) == 1
