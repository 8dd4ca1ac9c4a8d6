"""The case status page, reachable only through the signed link in every message (``/status/{token}``).

The token (:mod:`aftersales.web.links`) names the shop and the case and is signed with the
server key: a forged or edited token is answered 404 like an unknown page, so the page cannot
be used to probe for case ids. The page shows the case and its customer-visible history,
in the customer's language (the one their case was opened in, unless they switch).

Two things happen here besides reading:

- a return or withdrawal waiting for the goods offers **I have sent the parcel** (a tracking
  number): proof of dispatch, which is when a withdrawal's refund becomes due (the trader may
  withhold it only until the goods *or proof of their dispatch* arrive, art. 32 ust. 4 u.p.k.);
- a complaint whose answer is queued but not yet known to have reached the customer counts as
  reached when this page shows it (``complaints.answer_opened``) — the 14-day clock stops when
  the answer reaches the consumer (art. 7a u.p.k.).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import anyio
from starlette.requests import Request
from starlette.responses import Response

from aftersales.domain import Case, CaseType, Logistics
from aftersales.store.models import Shop
from aftersales.web.api import schemas
from aftersales.web.api.cases import case_from_token, customer_status
from aftersales.web.api.service import CommandRefused, ServiceRuntime, active_shop, reading, run_command
from aftersales.web.pages import labels
from aftersales.web.pages.render import Endpoint, Visit, read_form

RETURN_TYPES = frozenset({CaseType.WITHDRAWAL, CaseType.RETURN})
DISPATCHABLE = frozenset({"approved"})
COMPLAINT_TYPES = frozenset({CaseType.COMPLAINT, CaseType.WARRANTY})


@dataclass(frozen=True)
class Shown:
    case: Case
    shop: Shop
    status: schemas.CaseStatusAnswer


@dataclass(frozen=True)
class Entry:
    at: datetime
    label: str
    reason: str | None


def mask(email: str | None) -> str:
    """``j***@example.com``: enough to recognise one's address on a screen others may see."""
    local, _, domain = (email or "").partition("@")
    return f"{local[:1]}***@{domain}" if local and domain else ""


def can_dispatch(case: Case) -> bool:
    return (
        case.type in RETURN_TYPES
        and case.status in DISPATCHABLE
        and any(line.logistics is Logistics.AWAITING for line in case.lines)
    )


async def _load(runtime: ServiceRuntime, token: str) -> Shown | None:
    def read() -> Shown | None:
        with reading(runtime) as session:
            case = case_from_token(session, token)
            if case is None:
                return None
            shop = active_shop(session, case.shop_id)
            if shop is None:
                return None
            return Shown(case, shop, customer_status(session, case))

    return await anyio.to_thread.run_sync(read)


def status_page(runtime: ServiceRuntime) -> Endpoint:
    async def page(request: Request) -> Response:
        token = str(request.path_params["token"])
        shown = await _load(runtime, token)
        if shown is None:
            return Visit.start(request, runtime, None).problem(
                404, labels.TITLES["no_link"], labels.TITLES["no_link_detail"]
            )
        case = shown.case
        visit = Visit.start(request, runtime, shown.shop, prefer=case.customer.locale)
        error = None
        if request.method == "POST":
            form = await read_form(request)
            if form is None:
                return visit.problem(403, labels.TITLES["csrf"], labels.TITLES["csrf_detail"])
            if not can_dispatch(case):
                return visit.redirect(f"/status/{token}")
            tracking = str(form.get("tracking_number", "")).strip()[:100]
            carrier = str(form.get("carrier", "")).strip()[:100] or None
            try:
                await run_command(
                    runtime,
                    "returns.mark_in_transit",
                    case.shop_id,
                    case_number=case.number,
                    actor="customer",
                    email=case.customer.email,
                    tracking_number=tracking,
                    carrier=carrier,
                )
            except CommandRefused as refused:
                error = f"{visit.text(labels.TITLES['refused'])}: {refused.reason}"
            else:
                return visit.redirect(f"/status/{token}")
        elif case.type in COMPLAINT_TYPES and case.status == "answer_sent":
            # shown here, the answer has reached the customer (the clock stops, art. 7a u.p.k.)
            await run_command(runtime, "complaints.answer_opened", case.shop_id, case_id=case.id)
            refreshed = await _load(runtime, token)
            shown = refreshed or shown
        status = shown.status
        return visit.page(
            "status.html",
            422 if error else 200,
            case=status,
            type_label=labels.type_label(status.type),
            status_label=labels.status_label(status.status),
            deadline_labels=labels.DEADLINES,
            timeline=[
                Entry(e.at, labels.event_label(e.event, e.status), e.reason)
                for e in reversed(status.timeline)
            ],
            can_dispatch=can_dispatch(shown.case),
            withdrawn=request.query_params.get("withdrawn") == "1",
            opened=request.query_params.get("opened") == "1",
            masked_email=mask(case.customer.email),
            error=error,
        )

    return page
