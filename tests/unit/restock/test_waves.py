"""Alert waves: first in line first, as many as the stock serves, re-checked before every wave."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select

from aftersales import hookimpl
from aftersales.domain import StockLevel
from aftersales.notify.message import Message
from aftersales.plugins import load_plugins
from aftersales.store.models import OutboxMessage, RestockEpisode, RestockMessage, SubscriptionRow
from aftersales.workflows.restock import (
    Availability,
    EpisodeState,
    QuietHours,
    Source,
    UnsubscribeOutcome,
    WaveStatus,
    availability,
    observe_stock,
    run_wave,
    unsubscribe,
)

SHOP = "shop-1"
T0 = datetime(2026, 5, 4, 10, tzinfo=UTC)


def restock(world: Any, units: int, at: datetime, *, source: Source = Source.WEBHOOK) -> int | None:
    level = world.shelf.put("P1", "V1", units)
    return observe_stock(world.session, SHOP, level, source=source, now=at, rules=world.rules).opened


def recipients(world: Any, episode: int | None = None) -> list[str]:
    stmt = select(OutboxMessage.recipient).where(OutboxMessage.template == "restock_alert")
    if episode is not None:
        stmt = stmt.where(OutboxMessage.dedupe_key.like(f"{SHOP}:restock:%:{episode}"))
    return list(world.session.scalars(stmt.order_by(OutboxMessage.id)))


def test_waves_are_fifo_sized_by_stock_rechecked_and_stop_when_sold_out(world: Any) -> None:
    world.sold_out("V1")
    buyers = world.confirmed("V1", 20)
    episode = restock(world, 2, T0 + timedelta(days=1))
    assert episode is not None
    now = T0 + timedelta(days=1)

    first = run_wave(world.session, episode, 1, now, world.rules, world.ports)
    assert first.status is WaveStatus.SENT and first.queued == 6 and first.queue == 20
    assert recipients(world) == buyers[:6]
    assert first.next_at == now + timedelta(hours=1)
    _timer, due, payload = world.timers.scheduled[-1]
    assert due == first.next_at and payload == {"episode_id": episode, "wave": 2}
    assert all(world.status(b, "V1") == "notified" for b in buyers[:6])

    world.shelf.put("P1", "V1", 1)  # five sold in the hour
    second = run_wave(world.session, episode, 2, due, world.rules, world.ports)
    assert second.status is WaveStatus.SENT and second.queued == 3
    assert recipients(world) == buyers[:9]

    world.shelf.put("P1", "V1", 0)  # sold out before the third wave
    third = run_wave(world.session, episode, 3, second.next_at, world.rules, world.ports)
    assert third.status is WaveStatus.SOLD_OUT and third.queued == 0
    assert recipients(world) == buyers[:9]
    assert world.session.get(RestockEpisode, episode).state == EpisodeState.SOLD_OUT
    assert availability(world.session, SHOP, "V1") is Availability.OUT_OF_STOCK
    assert world.shelf.reads == 3  # the stock was re-read before every wave
    # Everyone not told keeps their place.
    assert [world.status(b, "V1") for b in buyers[9:]] == ["confirmed"] * 11

    # A newcomer joins the queue; at the next restock the ones who waited go first.
    late = world.confirmed("V1", 1, start=T0 + timedelta(days=2), prefix="late")
    again = restock(world, 1, T0 + timedelta(days=3))
    assert again is not None and again != episode
    wave = run_wave(world.session, again, 1, T0 + timedelta(days=3), world.rules, world.ports)
    assert wave.queued == 3
    assert recipients(world, again) == buyers[9:12]
    assert world.status(late[0], "V1") == "confirmed"
    # Nobody was messaged twice.
    sent = recipients(world)
    assert len(sent) == len(set(sent)) == 12


def test_the_same_restock_from_webhook_and_reconciliation_messages_each_subscriber_once(world: Any) -> None:
    world.sold_out("V1")
    buyers = world.confirmed("V1", 5)
    now = T0 + timedelta(days=1)
    opened = [restock(world, 10, now), restock(world, 10, now, source=Source.RECONCILE)]
    assert opened[0] is not None and opened[1] is None
    results = [run_wave(world.session, opened[0], 1, now, world.rules, world.ports) for _ in range(2)]
    assert [r.status for r in results] == [WaveStatus.SENT, WaveStatus.SKIPPED]
    assert sorted(recipients(world)) == sorted(buyers)
    assert world.session.scalar(select(func.count()).select_from(RestockMessage)) == 5
    # Everyone was told in one wave: the episode is exhausted and no further wave is planned.
    assert world.session.get(RestockEpisode, opened[0]).state == EpisodeState.EXHAUSTED
    assert results[0].next_at is None and world.timers.scheduled == []


class OneAtATime:
    """A merchant's plugin: one alert per wave, whatever the stock."""

    @hookimpl
    def aftersales_restock_wave(self, variant: StockLevel, available: int, queue: int) -> int | None:
        assert variant.variant_id == "V1" and available == 4
        return 1


def test_a_plugin_sizes_the_wave_and_the_builtin_uses_the_policy_per_unit(world: Any) -> None:
    world.sold_out("V1")
    buyers = world.confirmed("V1", 30)
    now = T0 + timedelta(days=1)
    episode = restock(world, 4, now)
    assert episode is not None

    custom = replace(
        world.ports, size_wave=load_plugins(entrypoints=False, extra=[OneAtATime()]).restock_wave
    )
    assert run_wave(world.session, episode, 1, now, world.rules, custom).queued == 1

    builtin = replace(world.ports, size_wave=load_plugins(entrypoints=False).restock_wave)
    two_per_unit = replace(world.rules, per_unit=2)
    wave = run_wave(world.session, episode, 2, now + timedelta(hours=1), two_per_unit, builtin)
    assert wave.queued == 8
    assert recipients(world) == buyers[:9]


def test_quiet_hours_move_a_wave_to_the_morning(world: Any) -> None:
    world.rules = replace(world.rules, quiet_hours=QuietHours.parse("21:00-08:00"))
    world.sold_out("V1")
    world.confirmed("V1", 3)
    night = datetime(2026, 5, 4, 20, 30, tzinfo=UTC)  # 22:30 in Warsaw
    episode = restock(world, 1, night)
    assert episode is not None
    deferred = run_wave(world.session, episode, 1, night, world.rules, world.ports)
    morning = datetime(2026, 5, 5, 6, 0, tzinfo=UTC)  # 08:00 in Warsaw
    assert deferred.status is WaveStatus.DEFERRED and deferred.next_at == morning
    assert world.timers.scheduled[-1][1:] == (morning, {"episode_id": episode, "wave": 1})
    assert recipients(world) == []
    assert run_wave(world.session, episode, 1, morning, world.rules, world.ports).queued == 3


def test_every_alert_has_one_click_unsubscribe_and_an_unsubscribed_address_gets_nothing_more(
    world: Any,
) -> None:
    world.sold_out("V1")
    world.sold_out("V2", product="P2")
    buyers = world.confirmed("V1", 4)
    world.confirmed("V2", 1, product="P2")  # buyer00000 also waits for V2
    now = T0 + timedelta(days=1)
    episode = restock(world, 1, now)
    assert episode is not None
    run_wave(world.session, episode, 1, now, world.rules, world.ports)
    rows = list(world.session.scalars(select(OutboxMessage).where(OutboxMessage.template == "restock_alert")))
    assert [r.recipient for r in rows] == buyers[:3]
    for row in rows:
        headers = row.message["headers"]
        assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert headers["List-Unsubscribe"].startswith("<https://alerts.example/restock/unsubscribe/")
        assert "https://alerts.example/restock/go/" in row.message["text"]

    # buyer00000 presses the mail client's unsubscribe button before the sender ran.
    url = rows[0].message["headers"]["List-Unsubscribe"].strip("<>")
    token = url.rsplit("/", 1)[1]
    done = unsubscribe(world.session, token, now, world.tokens)
    assert done.outcome is UnsubscribeOutcome.UNSUBSCRIBED and done.subscriptions == 2  # V1 and V2
    assert recipients(world) == buyers[1:3]  # the queued alert was withdrawn
    assert world.status(buyers[0], "V2") == "unsubscribed"

    # V2 comes back: the unsubscribed address is not in the queue any more.
    level = world.shelf.put("P2", "V2", 5)
    ep2 = observe_stock(world.session, SHOP, level, source=Source.WEBHOOK, now=now, rules=world.rules).opened
    assert ep2 is not None
    assert run_wave(world.session, ep2, 1, now, world.rules, world.ports).status is WaveStatus.EXHAUSTED
    assert buyers[0] not in recipients(world)


def test_a_variant_deleted_at_the_platform_closes_the_episode(world: Any) -> None:
    world.sold_out("V1")
    world.confirmed("V1", 2)
    now = T0 + timedelta(days=1)
    episode = restock(world, 3, now)
    assert episode is not None
    world.shelf.levels.clear()
    assert run_wave(world.session, episode, 1, now, world.rules, world.ports).status is WaveStatus.CLOSED
    assert availability(world.session, SHOP, "V1") is Availability.UNKNOWN
    assert recipients(world) == []


def test_keyset_pages_keep_fifo_order_across_chunks_and_equal_confirmation_times(world: Any) -> None:
    world.sold_out("V1")
    # 2,500 confirmed in bursts of 100 sharing one confirmation second: the id breaks ties.
    rows = [
        {
            "shop_id": SHOP,
            "variant_id": "V1",
            "email": f"s{i:05d}@example.com",
            "locale": "pl",
            "status": "confirmed",
            "created_at": T0,
            "confirmed_at": T0 + timedelta(seconds=i // 100),
        }
        for i in range(2500)
    ]
    world.session.execute(insert(SubscriptionRow), rows)
    now = T0 + timedelta(days=1)
    episode = restock(world, 700, now)
    assert episode is not None
    ports = replace(world.ports, chunk=333)
    wave = run_wave(world.session, episode, 1, now, world.rules, ports)
    assert wave.queued == 2100
    expected = [f"s{i:05d}@example.com" for i in range(2100)]
    assert recipients(world) == expected
    second = run_wave(world.session, episode, 2, wave.next_at, world.rules, ports)
    assert second.queued == 400
    assert recipients(world) == [f"s{i:05d}@example.com" for i in range(2500)]
    assert world.session.get(RestockEpisode, episode).state == EpisodeState.EXHAUSTED


def _links(text: str) -> list[str]:
    return re.findall(r"https://alerts\.example/restock/\S+", text)


def test_each_alert_carries_its_own_links_also_when_a_template_rewrites_them(world: Any) -> None:
    world.sold_out("V1")
    buyers = world.confirmed("V1", 3)
    now = T0 + timedelta(days=1)

    def shouting(*, to: str, locale: str, context: Any) -> Message:
        # A template that transforms the link defeats render-once-and-fill: rendered per subscriber.
        url = context["product_url"]
        return Message(shop_id=SHOP, to=to, template="restock_alert", subject="Back!",
                       text=f"{url.replace('https://', 'HTTPS://')}\n{context['unsubscribe_url']}")  # fmt: skip

    for render in (world.ports.render, shouting):
        ports = replace(world.ports, render=render)
        if render is shouting:
            world.sold_out("V1", at=now + timedelta(hours=2))
            buyers += world.confirmed("V1", 3, start=now + timedelta(hours=3), prefix="second")
            now = now + timedelta(days=1)
        episode = restock(world, 1, now)
        assert episode is not None
        run_wave(world.session, episode, 1, now, world.rules, ports)
    rows = list(world.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
    assert [r.recipient for r in rows] == buyers
    for row in rows:
        sub = world.session.scalars(
            select(SubscriptionRow).where(SubscriptionRow.email == row.recipient)
        ).one()
        message = world.session.scalars(
            select(RestockMessage).where(RestockMessage.subscription_id == sub.id)
        ).one()
        text = row.message["text"]
        assert message.token in text, "the tracked link is this subscriber's"
        unsubscribe_link = row.message["headers"]["List-Unsubscribe"].strip("<>")
        assert unsubscribe_link in text or unsubscribe_link in row.message.get("html", "")
        assert world.tokens.read_unsubscribe(unsubscribe_link.rsplit("/", 1)[1]).subscription_id == sub.id


def test_rules_come_from_the_shop_policy() -> None:
    from aftersales.policy import default_policy
    from aftersales.workflows.restock import RestockRules

    policy = default_policy(
        "Sklep",
        restock={"wave": {"per_unit": 5, "interval": "30m"}, "min_stock": 2, "attribution_days": 10},
    )
    rules = RestockRules.from_policy(policy, public_url="https://alerts.example/")
    assert (rules.per_unit, rules.interval, rules.min_stock, rules.attribution_days) == (
        5,
        timedelta(minutes=30),
        2,
        10,
    )
    assert rules.timezone == "Europe/Warsaw" and rules.public_url == "https://alerts.example"
    # The policy's default quiet hours (21:00-08:00 shop time) move a 23:00 wave to 08:00.
    late = datetime(2026, 5, 4, 21, 0, tzinfo=UTC)  # 23:00 in Warsaw
    assert rules.wave_start(late) == datetime(2026, 5, 5, 6, 0, tzinfo=UTC)
    assert rules.wave_start(datetime(2026, 5, 5, 7, 0, tzinfo=UTC)) == datetime(2026, 5, 5, 7, 0, tzinfo=UTC)
    loud = RestockRules.from_policy(default_policy("Sklep", restock={"quiet_hours": None}))
    assert loud.wave_start(late) == late
