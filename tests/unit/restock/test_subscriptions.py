"""Subscribing to a back-in-stock alert, as a visitor of the product page experiences it."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from aftersales.domain import StockLevel
from aftersales.store.models import Counter, SubscriptionRow
from aftersales.workflows.restock import (
    ConfirmOutcome,
    RestockRules,
    RestockTokens,
    Source,
    SubscribeOutcome,
    UnsubscribeOutcome,
    confirm,
    confirmation_is_valid,
    expire,
    observe_stock,
    subscribe,
    unsubscribe,
)

SHOP = "shop-1"


def _sub(world: Any, email: str, *, variant: str = "V1", ip: str = "203.0.113.7", at: Any = None) -> Any:
    from datetime import UTC, datetime

    when = at or datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
    return subscribe(
        world.session, SHOP, variant, email, ip, "pl", "consent-2026-05", when, world.rules, world.tokens
    )


def _row(world: Any, email: str, variant: str = "V1") -> SubscriptionRow:
    return world.session.scalars(
        select(SubscriptionRow).where(SubscriptionRow.email == email, SubscriptionRow.variant_id == variant)
    ).one()


def test_a_visitor_confirms_by_posting_the_token_and_the_consent_is_recorded(world: Any) -> None:
    world.sold_out("V1")
    result = _sub(world, "Anna.Kowalska@Example.COM")

    assert result.outcome is SubscribeOutcome.ACCEPTED
    mail = result.confirmation
    assert mail is not None and mail.to == "anna.kowalska@example.com"
    row = _row(world, "anna.kowalska@example.com")
    assert row.status == "pending" and row.confirmed_at is None
    assert row.consent is not None
    assert row.consent["ip"] == "203.0.113.7"
    assert row.consent["wording_version"] == "consent-2026-05"
    assert row.consent["at"].startswith("2026-05-04T10:00")

    later = row.created_at + timedelta(minutes=5)
    # The confirm page's GET only asks whether the token is good: a link checker opening the
    # e-mail's link confirms nothing.
    for _ in range(3):
        assert confirmation_is_valid(world.session, mail.token, later, world.rules, world.tokens)
    assert _row(world, "anna.kowalska@example.com").status == "pending"

    answer = confirm(world.session, mail.token, "198.51.100.1", later, world.rules, world.tokens)
    assert answer.outcome is ConfirmOutcome.CONFIRMED
    row = _row(world, "anna.kowalska@example.com")
    assert row.status == "confirmed" and row.confirmed_at == later
    assert row.consent is not None
    assert row.consent["confirmation"]["ip"] == "198.51.100.1"
    assert row.consent["confirmation"]["confirmed_at"].startswith("2026-05-04T10:05")
    # A double click on the button is still "confirmed", and changes nothing.
    again = confirm(
        world.session, mail.token, "198.51.100.1", later + timedelta(seconds=2), world.rules, world.tokens
    )
    assert again.outcome is ConfirmOutcome.CONFIRMED
    assert _row(world, "anna.kowalska@example.com").confirmed_at == later


def test_a_duplicate_gets_the_same_answer_as_a_new_subscription(world: Any) -> None:
    world.sold_out("V1")
    first = _sub(world, "jan@example.com")
    second = _sub(world, "JAN@example.com")
    assert first.outcome is second.outcome is SubscribeOutcome.ACCEPTED
    assert first.message == second.message
    # No second confirmation e-mail within the resend window (no mail bombing through the form).
    assert second.confirmation is None
    assert world.session.scalar(select(func.count()).select_from(SubscriptionRow)) == 1

    assert first.confirmation is not None
    confirm(world.session, first.confirmation.token, None, first_time(world), world.rules, world.tokens)
    third = _sub(world, "jan@example.com")
    assert third.outcome is SubscribeOutcome.ACCEPTED and third.message == first.message
    assert third.confirmation is None


def first_time(world: Any) -> Any:
    return _row(world, "jan@example.com").created_at + timedelta(minutes=1)


def test_a_pending_duplicate_after_the_resend_window_gets_a_fresh_confirmation(world: Any) -> None:
    world.sold_out("V1")
    first = _sub(world, "ola@example.com")
    later = _row(world, "ola@example.com").created_at + timedelta(minutes=30)
    second = _sub(world, "ola@example.com", at=later)
    assert first.confirmation is not None and second.confirmation is not None
    assert first.confirmation.token != second.confirmation.token
    # Only the newest confirmation link works.
    assert (
        confirm(world.session, first.confirmation.token, None, later, world.rules, world.tokens).outcome
        == "invalid"
    )
    assert confirm(
        world.session, second.confirmation.token, None, later, world.rules, world.tokens
    ).outcome == ("confirmed")


def test_invalid_addresses_are_refused_and_nothing_is_stored(world: Any) -> None:
    world.sold_out("V1")
    for bad in (
        "",
        "not-an-address",
        "a@b",
        "anna@@example.com",
        "anna@example..com",
        "x" * 300 + "@example.com",
    ):
        result = _sub(world, bad)
        assert result.outcome is SubscribeOutcome.INVALID_EMAIL, bad
        assert result.confirmation is None
    assert world.session.scalar(select(func.count()).select_from(SubscriptionRow)) == 0


def test_unknown_and_in_stock_variants_get_one_neutral_refusal(world: Any) -> None:
    world.sold_out("V1")
    observe_stock(
        world.session,
        SHOP,
        StockLevel(product_id="P1", variant_id="V1", available=4, in_stock=True),
        source=Source.WEBHOOK,
        now=_row_time(),
        rules=world.rules,
    )
    world.sold_out("V2")
    in_stock = _sub(world, "a@example.com", variant="V1")
    unknown = _sub(world, "a@example.com", variant="V-never-seen")
    waiting = _sub(world, "a@example.com", variant="V2")
    assert in_stock.outcome is unknown.outcome is SubscribeOutcome.UNAVAILABLE
    assert in_stock.message == unknown.message
    assert waiting.outcome is SubscribeOutcome.ACCEPTED
    assert world.session.scalar(select(func.count()).select_from(SubscriptionRow)) == 1


def _row_time() -> Any:
    from datetime import UTC, datetime

    return datetime(2026, 5, 4, 10, 0, tzinfo=UTC) + timedelta(seconds=1)


def test_a_flood_from_one_ip_is_rate_limited_across_sessions(
    sessions: sessionmaker[Session], rules: RestockRules, tokens: RestockTokens
) -> None:
    from datetime import UTC, datetime

    now = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
    limited = replace(rules, subscribe_limit_per_ip_hour=5)
    with sessions.begin() as s:
        observe_stock(
            s,
            SHOP,
            StockLevel(product_id="P1", variant_id="V1", available=0, in_stock=False),
            source=Source.WEBHOOK,
            now=now,
            rules=limited,
        )
    outcomes = []
    for i in range(8):  # one transaction per request, as separate web processes would do
        with sessions.begin() as s:
            outcomes.append(
                subscribe(
                    s, SHOP, "V1", f"bot{i}@example.com", "198.51.100.66", "pl", "v1", now, limited, tokens
                ).outcome
            )
    assert outcomes[:5] == [SubscribeOutcome.ACCEPTED] * 5
    assert outcomes[5:] == [SubscribeOutcome.RATE_LIMITED] * 3
    with sessions.begin() as s:
        # Invalid attempts count too, other addresses are not affected, the next hour is fresh.
        assert subscribe(
            s, SHOP, "V1", "nope", "198.51.100.66", "pl", "v1", now, limited, tokens
        ).outcome == ("rate_limited")
        assert subscribe(
            s, SHOP, "V1", "ok@example.com", "192.0.2.1", "pl", "v1", now, limited, tokens
        ).outcome == ("accepted")
        next_hour = now + timedelta(hours=1)
        assert subscribe(
            s, SHOP, "V1", "later@example.com", "198.51.100.66", "pl", "v1", next_hour, limited, tokens
        ).outcome == ("accepted")
        assert s.scalar(select(func.count()).select_from(SubscriptionRow)) == 7
        # Housekeeping drops the counters of past hours and keeps the current one.
        report = expire(s, SHOP, next_hour, limited)
        assert report.rate_counters == 2  # the past hour's two addresses
        names = list(s.scalars(select(Counter.name).where(Counter.name.like("restock:ip:%"))))
        assert len(names) == 1  # this hour's attempt from the flooding IP


def test_forged_tampered_and_cross_purpose_tokens_get_the_neutral_answer(world: Any) -> None:
    world.sold_out("V1")
    mail = _sub(world, "eva@example.com").confirmation
    assert mail is not None
    now = _row(world, "eva@example.com").created_at
    other_server = RestockTokens("another-secret")
    forged = other_server.confirm_token(mail.subscription_id, mail.nonce, now)
    tampered = mail.token[:-2] + ("AA" if mail.token[-2:] != "AA" else "BB")
    wrong_nonce = world.tokens.confirm_token(mail.subscription_id, "guessed", now)
    unsub_as_confirm = world.tokens.unsubscribe_token(mail.subscription_id)
    for token in (forged, tampered, wrong_nonce, unsub_as_confirm, "", "garbage"):
        assert not confirmation_is_valid(world.session, token, now, world.rules, world.tokens)
        assert (
            confirm(world.session, token, None, now, world.rules, world.tokens).outcome
            is ConfirmOutcome.INVALID
        )
    assert unsubscribe(world.session, mail.token, now, world.tokens).outcome is UnsubscribeOutcome.INVALID
    assert unsubscribe(world.session, "garbage", now, world.tokens).outcome is UnsubscribeOutcome.INVALID
    assert _row(world, "eva@example.com").status == "pending"
    # An expired confirmation link is just as invalid.
    too_late = now + timedelta(hours=world.rules.unconfirmed_expire_hours, seconds=1)
    assert confirm(world.session, mail.token, None, too_late, world.rules, world.tokens).outcome == "invalid"


def test_a_confirmation_link_replayed_after_unsubscribing_does_not_resubscribe(world: Any) -> None:
    world.sold_out("V1")
    mail = _sub(world, "piotr@example.com").confirmation
    assert mail is not None
    now = _row(world, "piotr@example.com").created_at
    stop = world.tokens.unsubscribe_token(mail.subscription_id)
    assert unsubscribe(world.session, stop, now, world.tokens).outcome is UnsubscribeOutcome.UNSUBSCRIBED
    assert (
        confirm(world.session, mail.token, None, now, world.rules, world.tokens).outcome
        is ConfirmOutcome.INVALID
    )
    assert _row(world, "piotr@example.com").status == "unsubscribed"
    # Unsubscribing twice is harmless.
    assert unsubscribe(world.session, stop, now, world.tokens).outcome is UnsubscribeOutcome.UNSUBSCRIBED


def test_without_double_opt_in_a_subscription_is_confirmed_at_once_unless_the_address_unsubscribed(
    world: Any,
) -> None:
    world.rules = replace(world.rules, double_opt_in=False)
    world.sold_out("V1")
    world.sold_out("V2")
    first = _sub(world, "kasia@example.com", variant="V1")
    assert first.outcome is SubscribeOutcome.ACCEPTED and first.confirmation is None
    row = _row(world, "kasia@example.com", "V1")
    assert row.status == "confirmed" and row.consent is not None and row.consent["double_opt_in"] is False

    stop_all = world.tokens.unsubscribe_token(row.id, everything=True)
    assert unsubscribe(world.session, stop_all, row.created_at, world.tokens).subscriptions == 1
    # Someone types the address in again: it must be confirmed by its owner this time.
    again = _sub(world, "kasia@example.com", variant="V2")
    assert again.outcome is SubscribeOutcome.ACCEPTED and again.confirmation is not None
    assert _row(world, "kasia@example.com", "V2").status == "pending"


def test_expiry_deletes_unconfirmed_reverts_renewals_and_expires_stale_subscriptions(world: Any) -> None:
    world.sold_out("V1")
    t0 = _row_time()
    stale = _sub(world, "stale@example.com", at=t0)
    assert stale.confirmation is not None
    confirm(world.session, stale.confirmation.token, None, t0, world.rules, world.tokens)
    gone = _sub(world, "never@example.com", at=t0)
    assert gone.confirmation is not None
    # An address that unsubscribed and is typed in again, never confirmed.
    was = _sub(world, "was@example.com", at=t0)
    assert was.confirmation is not None
    unsubscribe(
        world.session, world.tokens.unsubscribe_token(was.confirmation.subscription_id), t0, world.tokens
    )
    renewed = _sub(world, "was@example.com", at=t0 + timedelta(hours=1))
    assert renewed.confirmation is not None
    fresh = _sub(world, "fresh@example.com", at=t0 + timedelta(days=91) - timedelta(hours=1))

    report = expire(world.session, SHOP, t0 + timedelta(days=91), world.rules)
    assert report.unconfirmed == 2  # never@ deleted, was@ back to "unsubscribed"
    assert report.stale == 1
    statuses = dict(world.session.execute(select(SubscriptionRow.email, SubscriptionRow.status)).all())
    assert statuses == {
        "stale@example.com": "expired",
        "was@example.com": "unsubscribed",
        "fresh@example.com": "pending",
    }
    assert fresh.outcome is SubscribeOutcome.ACCEPTED


def test_a_variant_sold_out_before_the_shop_was_connected_is_read_once_from_the_platform(world: Any) -> None:
    from aftersales.store.models import RestockEpisode

    world.shelf.put("P7", "V7", 0)  # out of stock for weeks: no webhook will ever name it
    world.shelf.put("P8", "V8", 12)
    world.shelf.put("P9", None, 0)  # a simple product is its own variant

    def ask(variant: str, product: str | None) -> SubscribeOutcome:
        return subscribe(
            world.session, SHOP, variant, "ask@example.com", "203.0.113.50", "pl", "v1", _row_time(),
            world.rules, world.tokens, product_id=product, read_stock=world.shelf.read_stock,
        ).outcome  # fmt: skip

    assert ask("V7", "P7") is SubscribeOutcome.ACCEPTED
    assert ask("V7", "P7") is SubscribeOutcome.ACCEPTED  # known now: no second read
    assert world.shelf.reads == 1
    assert ask("P9", "P9") is SubscribeOutcome.ACCEPTED
    assert ask("V8", "P8") is SubscribeOutcome.UNAVAILABLE  # in stock: just buy it
    assert ask("V404", "P404") is SubscribeOutcome.UNAVAILABLE  # the platform says 404
    assert ask("V10", None) is SubscribeOutcome.UNAVAILABLE  # nothing to ask the platform with
    tracked = dict(world.session.execute(select(RestockEpisode.variant_id, RestockEpisode.detected_by)).all())
    assert tracked == {"V7": "subscribe", "P9": "subscribe"}  # an in-stock variant is not tracked yet
