"""Outbound case events: queued through the outbox on every transition, POSTed signed in the
Standard Webhooks format, verified by a receiver that uses the reference implementation."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from typer.testing import CliRunner

from aftersales.builtin import outbound_webhooks
from aftersales.cli import app as cli_app
from aftersales.domain import Case, CaseType
from aftersales.notify.message import Message
from aftersales.notify.outbound import WebhookDeliveryError, generate_secret, sign
from aftersales.plugins import Plugins, load_plugins
from aftersales.store.models import OutboundEndpoint, OutboxMessage

SECRET = generate_secret()


@dataclass
class Receiver:
    """The merchant's system: verifies every request with its own copy of the secret."""

    secret: str
    answers: list[int] = field(default_factory=list)
    verified: list[dict[str, Any]] = field(default_factory=list)
    rejected: int = 0

    def app(self) -> Starlette:
        async def hook(request: Request) -> Response:
            body = await request.body()
            try:
                payload = Webhook(self.secret).verify(body, dict(request.headers))
            except WebhookVerificationError:
                self.rejected += 1
                return Response(status_code=400)
            status = self.answers.pop(0) if self.answers else 204
            if status < 300:
                self.verified.append({"id": request.headers["webhook-id"], "payload": payload})
            return Response(status_code=status)

        return Starlette(routes=[Route("/hooks", hook, methods=["POST"])])


@pytest.fixture
def receiver(kit: Any) -> Iterator[tuple[Receiver, str]]:
    merchant = Receiver(SECRET)
    with kit.LiveServer(merchant.app()) as server:
        yield merchant, f"{server.url}/hooks"


@pytest.fixture
def bound(sessions: sessionmaker[Session]) -> Plugins:
    outbound_webhooks.bind(sessions)
    return load_plugins(entrypoints=False)


def endpoint(sessions: sessionmaker[Session], shop: str, url: str, secret: str, active: bool = True) -> int:
    with sessions() as session, session.begin():
        row = OutboundEndpoint(
            shop_id=shop, url=url, secret=secret, active=active, created_at=datetime.now(UTC)
        )
        session.add(row)
        session.flush()
        return row.id


def a_case(version: int = 1) -> Case:
    return Case(
        id="case-1",
        number="R-2026-000042",
        shop_id="shop-a",
        type=CaseType.WITHDRAWAL,
        status="approved",
        order_id="820982911946154508",
        opened_at=datetime(2026, 5, 14, tzinfo=UTC),
        version=version,
    )


def outbox(sessions: sessionmaker[Session]) -> list[OutboxMessage]:
    with sessions() as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def send(plugins: Plugins, row: OutboxMessage) -> Any:
    return plugins.channels()[row.channel].send(Message.model_validate(row.message))


def test_our_signature_is_the_reference_implementations() -> None:
    moment = datetime(2026, 5, 14, 12, 0, tzinfo=UTC)
    expected = Webhook(SECRET).sign("msg_1", moment, '{"a":1}')
    assert sign(SECRET, "msg_1", int(moment.timestamp()), '{"a":1}') == expected


def test_a_transition_reaches_the_merchant_signed_and_verified(
    bound: Plugins, sessions: sessionmaker[Session], receiver: tuple[Receiver, str]
) -> None:
    merchant, url = receiver
    endpoint(sessions, "shop-a", url, SECRET)
    endpoint(sessions, "shop-a", url + "?old", generate_secret(), active=False)
    endpoint(sessions, "shop-b", url + "?b", generate_secret())

    bound.case_transition(a_case(), "requested", "approved", "auto_approved")

    [row] = outbox(sessions)
    assert (row.channel, row.shop_id, row.state, row.case_id) == ("webhook", "shop-a", "pending", "case-1")
    assert SECRET not in json.dumps(row.message), "the queued row never holds the endpoint secret"
    receipt = send(bound, row)
    assert receipt.accepted
    [got] = merchant.verified
    assert got["id"] == receipt.message_id
    assert got["payload"]["type"] == "case.transition"
    assert got["payload"]["data"] == {
        "shop_id": "shop-a",
        "case_id": "case-1",
        "case_number": "R-2026-000042",
        "case_type": "withdrawal",
        "order_id": "820982911946154508",
        "from": "requested",
        "to": "approved",
        "event": "auto_approved",
        "version": 1,
    }


def test_the_same_transition_observed_twice_is_queued_once_and_keeps_its_id_on_retry(
    bound: Plugins, sessions: sessionmaker[Session], receiver: tuple[Receiver, str]
) -> None:
    merchant, url = receiver
    endpoint(sessions, "shop-a", url, SECRET)
    bound.case_transition(a_case(), "requested", "approved", "auto_approved")
    bound.case_transition(a_case(), "requested", "approved", "auto_approved")
    bound.case_transition(a_case(version=2), "approved", "refunded", "refund_confirmed")
    first, second = outbox(sessions)

    merchant.answers = [503]
    with pytest.raises(WebhookDeliveryError, match="503"):
        send(bound, first)
    retried = send(bound, first)
    assert retried.accepted
    assert send(bound, second).accepted
    assert [v["payload"]["data"]["to"] for v in merchant.verified] == ["approved", "refunded"]
    assert merchant.verified[0]["id"] == retried.message_id != merchant.verified[1]["id"]


def test_a_receiver_with_another_secret_rejects_the_event(
    bound: Plugins, sessions: sessionmaker[Session], receiver: tuple[Receiver, str]
) -> None:
    merchant, url = receiver
    endpoint(sessions, "shop-a", url, generate_secret())  # we sign with a secret the merchant does not have
    bound.case_transition(a_case(), "requested", "approved", "auto_approved")
    with pytest.raises(WebhookDeliveryError, match="400"):
        send(bound, outbox(sessions)[0])
    assert merchant.rejected == 1 and merchant.verified == []


def test_gone_or_deactivated_endpoints_are_final_failures_not_retries(
    bound: Plugins, sessions: sessionmaker[Session], receiver: tuple[Receiver, str]
) -> None:
    merchant, url = receiver
    endpoint_id = endpoint(sessions, "shop-a", url, SECRET)
    bound.case_transition(a_case(), "requested", "approved", "auto_approved")
    [row] = outbox(sessions)

    merchant.answers = [410]
    assert not send(bound, row).accepted
    with sessions() as session, session.begin():
        session.get(OutboundEndpoint, endpoint_id).active = False  # type: ignore[union-attr]
    receipt = send(bound, row)
    assert not receipt.accepted and "deactivated" in receipt.detail


def test_endpoint_add_prints_the_generated_secret_once_and_list_never(
    db_url: str, sessions: sessionmaker[Session], kit: Any
) -> None:
    kit.add_shop(sessions, "shop-a", ["secret-of-shop-a-0123456789"])
    runner = CliRunner()
    added = runner.invoke(
        cli_app, ["shop", "endpoint-add", "shop-a", "https://erp.example/hooks", "--db", db_url]
    )
    assert added.exit_code == 0, added.output
    with sessions() as session:
        [row] = session.scalars(select(OutboundEndpoint)).all()
    assert row.secret.startswith("whsec_") and row.secret in added.output
    listed = runner.invoke(cli_app, ["shop", "endpoint-list", "shop-a", "--json", "--db", db_url])
    assert json.loads(listed.stdout)[0]["url"] == "https://erp.example/hooks"
    assert row.secret not in listed.output
    bad = runner.invoke(
        cli_app, ["shop", "endpoint-add", "shop-a", "https://x", "--secret", "nope", "--db", db_url]
    )
    assert bad.exit_code == 1
