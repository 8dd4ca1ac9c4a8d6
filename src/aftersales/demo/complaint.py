"""Scenario 3: a complaint nobody answers is accepted by law after 14 days (Shopify, PL shop).

A customer writes an ordinary e-mail to the shop's complaints mailbox: the cordless vacuum
from order #N stopped charging, please replace it. The message goes in through the mailbox
command (what ``aftersales mail ingest`` and the inbound SMTP listener call); the service
reads the sender, finds the order by its number (only if it belongs to that address), reads
the demand ("wymianę": a replacement), acknowledges receipt and starts the statutory clock:
the trader has 14 days to answer, or the complaint is deemed accepted (art. 7a u.p.k.).

Nobody answers. The runner moves the engine clock to the answer deadline (read from the
complaint's timer; the deadline shifts past weekends and holidays, art. 115 k.c.), the worker
fires it, and the case becomes ``deemed_accepted``: the customer is told by e-mail and the
demanded replacement is set in motion (with a courier pick-up at the shop's cost).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from sqlalchemy import select

from aftersales.demo.catalog import Buyer, Item
from aftersales.demo.orders import place_shopify_order
from aftersales.demo.scenario import Outcome, Scenario, case_path, emails_to, require, wait_case
from aftersales.demo.stage import SHOPIFY_SHOP, Stage
from aftersales.store.models import CaseRow, Timer

BUYER = Buyer("Anna", "Kowalska", "anna.kowalska@example.pl", "pl")
ANSWER_TIMER = "complaints.answer_due"
MAILBOX = "reklamacje@example.pl"


def complaint_email(buyer: Buyer, order_number: str, sent_at: datetime) -> bytes:
    """The customer's e-mail, as their mail client would send it."""
    message = EmailMessage()
    message["From"] = f"{buyer.first_name} {buyer.last_name} <{buyer.email}>"
    message["To"] = MAILBOX
    message["Subject"] = f"Reklamacja - zamówienie {order_number}"
    message["Date"] = format_datetime(sent_at)
    message["Message-ID"] = make_msgid(domain="example.pl")
    message.set_content(
        "Dzień dobry,\n\n"
        f"odkurzacz z zamówienia nr {order_number.lstrip('#')} przestał się ładować po trzech tygodniach.\n"
        "Bateria nie trzyma ładunku nawet minuty. Proszę o wymianę odkurzacza.\n\n"
        f"Pozdrawiam\n{buyer.first_name} {buyer.last_name}\n"
    )
    return message.as_bytes()


class DeemedComplaint(Scenario):
    key = "complaint"
    title = "Complaint deemed accepted after 14 days"
    platform = "Shopify"
    workflow = "complaints"

    def __init__(self) -> None:
        self.order_id = ""
        self.case_id = ""
        self.case_number = ""

    def start(self, stage: Stage) -> None:
        now = stage.now()
        payload = place_shopify_order(
            stage,
            BUYER,
            [Item("Odkurzacz bezprzewodowy Cyklon X", Decimal("899.00"), sku="ODK-CX")],
            paid_at=now - timedelta(days=24),
            dispatched_at=now - timedelta(days=23),
            delivered_at=now - timedelta(days=21),
        )
        self.order_id = str(payload["id"])
        answer = stage.command(
            "complaints.ingest_email", SHOPIFY_SHOP, raw=complaint_email(BUYER, str(payload["name"]), now)
        )
        require(answer.get("created"), f"the complaint e-mail opened no case: {answer}")
        self.case_id = str(answer["case_id"])
        self.case_number = str(answer["case_number"])
        require(
            answer.get("order_id") == self.order_id,
            f"complaint {self.case_number} was not matched to order {payload['name']}: {answer}",
        )

    def wake_at(self, stage: Stage) -> datetime | None:
        """The statutory answer deadline, as the complaint's own timer says."""
        return stage.read(
            lambda s: s.scalars(
                select(Timer.due_at).where(
                    Timer.case_id == self.case_id, Timer.kind == ANSWER_TIMER, Timer.state == "pending"
                )
            ).first()
        )

    def conclude(self, stage: Stage) -> Outcome:
        case = wait_case(
            stage,
            SHOPIFY_SHOP,
            self.order_id,
            ["complaint", "warranty"],
            ["deemed_accepted", "replacing", "in_repair", "resolved"],
            f"complaint {self.case_number} was not deemed accepted",
        )
        path = stage.read(lambda s: case_path(s, case.id))
        require(
            "deemed_accepted" in path,
            f"complaint {case.number} went {' → '.join(path)}, never deemed_accepted",
        )
        opened = stage.read(lambda s: s.get(CaseRow, case.id))
        deemed = stage.read(
            lambda s: s.scalars(
                select(Timer.fired_at).where(Timer.case_id == case.id, Timer.kind == ANSWER_TIMER)
            ).first()
        )
        days = (deemed - opened.opened_at).days if deemed is not None and opened is not None else None
        return self.outcome(
            ok=True,
            case=case.number,
            happened=f"e-mail → {' → '.join(path)}"
            + (f" (no answer in {days} days: art. 7a u.p.k.)" if days is not None else ""),
            emails=emails_to(stage, BUYER.email),
        )
