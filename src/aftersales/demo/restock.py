"""Scenario 6: back in stock, told in two waves sized to the stock the shop really has (WooCommerce).

A rain jacket in size M is sold out at the fake WooCommerce shop. Sixteen visitors ask to be
told when it is back: each subscribes through the customer API (what the product page's form
posts), receives the double opt-in e-mail at the SMTP sink, and confirms with the token from
the link in that e-mail (a POST, as the confirm page does — a mail scanner opening the link
confirms nothing). Then two jackets
come back: the shop's own signed ``product.updated`` webhook opens a restock episode and wave
1 tells ``2 units × per_unit 5 = 10`` people, first confirmed first. One jacket sells in the
meantime without any webhook; when the wave timer falls due (``wave.interval`` later, or after
the quiet hours) the worker re-reads the stock from the shop's API and sizes wave 2 to the one
jacket left. Then the last one sells and the shop says so: the episode ends and the people not
told keep their place in the queue for the next restock.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from aftersales.demo.scenario import Outcome, Scenario, require
from aftersales.demo.stage import WOO_SHOP, ScenarioFailed, Stage
from aftersales.store.models import RestockEpisode, RestockMessage, Timer

NAMES = (
    "amelie", "ben", "clara", "david", "emma", "felix", "greta", "hannes",
    "ida", "jonas", "klara", "leon", "mia", "noah", "olivia", "paul",
)  # fmt: skip
"""The waiting customers, in the order they confirm: more than two jackets can serve (2 × 5 + 1 × 5)."""
WAVE_TIMER = "restock.wave"
CONFIRM_LINK = re.compile(r"/restock/confirm/([A-Za-z0-9_.\-]+)")


def _body(message: Any) -> str:
    part = message.get_body(("plain",))
    return str(part.get_content()) if part is not None else ""


class Restock(Scenario):
    key = "restock"
    title = "Back-in-stock alert in two waves"
    platform = "WooCommerce"
    workflow = "restock"

    def __init__(self) -> None:
        self.product_id = 0
        self.variation_id = 0
        self.emails = [f"{name}@example.com" for name in NAMES]

    # -- helpers ---------------------------------------------------------------------------------
    def _episode(self, session: Session) -> RestockEpisode | None:
        """The restock episode of this scenario (not the ``waiting`` one a sell-out opens for next time)."""
        return session.scalars(
            select(RestockEpisode)
            .where(
                RestockEpisode.shop_id == WOO_SHOP,
                RestockEpisode.variant_id == str(self.variation_id),
                RestockEpisode.state != "waiting",
            )
            .order_by(RestockEpisode.id.desc())
            .limit(1)
        ).first()

    def _waves(self, stage: Stage) -> int:
        episode = stage.read(self._episode)
        return episode.waves if episode is not None else 0

    def _subscribe(self, stage: Stage, email: str) -> None:
        answer = stage.api(
            "POST",
            f"/api/v1/shops/{WOO_SHOP}/restock/subscriptions",
            {
                "variant_id": str(self.variation_id),
                "product_id": str(self.product_id),
                "email": email,
                "locale": "en",
            },
        )
        require(answer.get("outcome") == "accepted", f"subscribing {email} was answered {answer}")

    def _confirm_all(self, stage: Stage) -> None:
        """Every subscriber confirms with the token from the e-mail the sink received."""
        for email in self.emails:
            token = None
            for message in stage.sink.to(email):
                found = CONFIRM_LINK.search(_body(message))
                token = found.group(1) if found else token
            if token is None:
                raise ScenarioFailed(f"no confirmation e-mail with a /restock/confirm/ link reached {email}")
            answer = stage.api("POST", "/api/v1/restock/confirm", {"token": token})
            require(answer.get("outcome") == "confirmed", f"confirming {email} was answered {answer}")

    # -- the scenario ------------------------------------------------------------------------------
    def start(self, stage: Stage) -> None:
        product = stage.woo.add_product({"name": "Rain jacket Nordkap", "type": "variable"}, webhook=False)
        self.product_id = int(product["id"])
        variation = stage.woo.add_variation(
            self.product_id,
            {"name": "Rain jacket Nordkap - M", "sku": "RJN-M", "manage_stock": True, "stock_quantity": 0},
            webhook=False,
        )
        self.variation_id = int(variation["id"])
        stage.woo.set_stock(self.product_id, self.variation_id, 0)  # sold out, and the shop says so
        stage.settle()
        for email in self.emails:
            self._subscribe(stage, email)
        stage.settle()  # the confirmation e-mails go out through the outbox and SMTP
        stage.sink.wait_for(len(self.emails), timeout=15)
        self._confirm_all(stage)
        stage.woo.set_stock(self.product_id, self.variation_id, 2)  # two are back; product.updated is sent
        stage.settle()
        if self._waves(stage) == 1:
            self._sell_one(stage)

    def _sell_one(self, stage: Stage) -> None:
        # a jacket sells between the waves and nobody tells the service: wave 2 must re-read
        stage.woo.set_stock(self.product_id, self.variation_id, 1, webhook=False)

    def wake_at(self, stage: Stage) -> datetime | None:
        """The next wave's timer (wave 1 too, when the restock came in the quiet hours)."""
        if self._waves(stage) >= 2:
            return None
        timers = stage.read(
            lambda s: s.scalars(
                select(Timer).where(
                    Timer.shop_id == WOO_SHOP, Timer.kind == WAVE_TIMER, Timer.state == "pending"
                )
            ).all()
        )
        episode = stage.read(self._episode)
        moments = [
            t.due_at
            for t in timers
            if episode is not None and (t.payload or {}).get("episode_id") == episode.id
        ]
        return min(moments) if moments else None

    def woke(self, stage: Stage) -> None:
        waves = self._waves(stage)
        if waves == 1:
            self._sell_one(stage)
        elif waves == 2:
            stage.woo.set_stock(self.product_id, self.variation_id, 0)  # the last one sold: the shop says so
            stage.settle()

    def conclude(self, stage: Stage) -> Outcome:
        def facts(session: Session) -> dict[str, Any]:
            episode = self._episode(session)
            per_wave = dict(
                session.execute(
                    select(RestockMessage.wave, func.count())
                    .where(RestockMessage.episode_id == (episode.id if episode else -1))
                    .group_by(RestockMessage.wave)
                ).all()
            )
            return {"episode": episode, "per_wave": per_wave}

        found = stage.read(facts)
        per_wave: dict[int, int] = found["per_wave"]
        require(
            len(per_wave) >= 2, f"the restock went out in {len(per_wave)} wave(s), expected 2: {per_wave}"
        )
        alerted = [e for e in self.emails if any("/restock/go/" in _body(m) for m in stage.sink.to(e))]
        require(
            len(alerted) == sum(per_wave.values()),
            f"{sum(per_wave.values())} alerts were queued but {len(alerted)} reached the SMTP sink",
        )
        reads = sum(
            1
            for method, path in stage.woo.requests
            if method == "GET"
            and path.split("?")[0].endswith(f"/{self.product_id}/variations/{self.variation_id}")
        )
        episode = found["episode"]
        last_stock = episode.last_available if episode is not None else None
        ended = episode.state if episode is not None else "-"
        happened = (
            f"{len(self.emails)} confirmed (double opt-in) → wave 1: {per_wave.get(1, 0)} alerts"
            f" → stock re-read at the shop ({reads} reads; {last_stock} left) → wave 2: {per_wave.get(2, 0)} alerts"
            f" → episode {ended}; {_waiting(len(self.emails) - len(alerted))} in the queue for the next restock"
        )
        return self.outcome(
            ok=True,
            case=f"variant {self.variation_id}",
            happened=happened,
            emails=[str(m["Subject"]) for e in self.emails for m in stage.sink.to(e)],
        )


def _waiting(count: int) -> str:
    return "1 person keeps their place" if count == 1 else f"{count} people keep their place"
