"""The complaint form: a description, the remedy the customer asks for, photos or PDFs.

Limits are enforced three times, each for its own reason: the route refuses a body above
five files of 10 MiB plus the text (413, before anything is parsed), the multipart parser
refuses absurd numbers of parts, and the complaints workflow checks every file — its size,
and its type from its first bytes, never from the browser's label — before anything is
written (``complaints.submit``; a refused file is named in the message and the customer sends
the form again). Reached from an order page, the form carries the order pass, so the order
number and e-mail are the verified ones.
"""

from __future__ import annotations

import uuid
from typing import Any

import anyio
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response

from aftersales.domain import Order
from aftersales.web.api.customer import idempotency_key, opened_answer
from aftersales.web.api.lookup import read_pass
from aftersales.web.api.service import CommandRefused, ServiceRuntime, reading, run_command
from aftersales.web.pages import labels
from aftersales.web.pages.orders import status_location
from aftersales.web.pages.render import Endpoint, read_form, shop_visit
from aftersales.workflows.complaints.attachments import MAX_BYTES, MAX_FILES

MAX_BODY = MAX_FILES * MAX_BYTES + 256 * 1024
"""The route's body cap: every file at its limit, plus the form's text fields."""
_REMEDIES = {code for code, _ in labels.REMEDIES if code}
_FIELDS = ("email", "order_number", "product", "description", "remedy")


async def _files(form: Any) -> list[dict[str, Any]]:
    """The uploaded files (an empty file input sends one empty part with no name: skipped)."""
    files: list[dict[str, Any]] = []
    for item in form.getlist("photos"):
        if not isinstance(item, UploadFile) or (not item.filename and not item.size):
            continue
        # one byte over the limit is enough for the workflow to refuse the file by its size
        content = await item.read(MAX_BYTES + 1)
        files.append(
            {"filename": item.filename or "attachment", "content_type": item.content_type, "content": content}
        )
    return files


def complaint_page(runtime: ServiceRuntime) -> Endpoint:
    async def page(request: Request) -> Response:
        visit = await shop_visit(request, runtime)
        if isinstance(visit, Response):
            return visit
        assert visit.shop is not None
        shop_id = visit.shop.id
        form: Any = None
        if request.method == "POST":
            form = await read_form(request)
            if form is None:
                return visit.problem(403, labels.TITLES["csrf"], labels.TITLES["csrf_detail"])
        order_pass = str((form or request.query_params).get("order_pass", ""))[:2000]

        def load() -> Order | None:
            with reading(runtime) as session:
                return read_pass(session, shop_id, order_pass) if order_pass else None

        order = await anyio.to_thread.run_sync(load)
        values = {name: str((form or {}).get(name, ""))[:20_000] for name in _FIELDS}
        if order is not None:
            values.update(email=order.customer.email or "", order_number=order.number)

        def form_page(status: int = 200, error: str | None = None) -> Response:
            return visit.page(
                "complaint.html",
                status,
                form=values,
                order_pass=order_pass if order is not None else "",
                remedies=labels.REMEDIES,
                request_id=str((form or {}).get("request_id", "")) or uuid.uuid4().hex,
                max_files=MAX_FILES,
                max_mib=MAX_BYTES // (1024 * 1024),
                error=error,
            )

        if form is None:
            return form_page()
        payload: dict[str, Any] = {
            "email": values["email"],
            "description": values["description"],
            "order_number": values["order_number"] or None,
            "product": values["product"] or None,
            "remedy": values["remedy"] if values["remedy"] in _REMEDIES else None,
            "locale": visit.lang,
            "request_id": idempotency_key(
                "web",
                values["email"].strip().lower(),
                str(form.get("request_id", ""))[:64] or uuid.uuid4().hex,
            ),
            "attachments": await _files(form),
        }
        try:
            summary = await run_command(
                runtime,
                "complaints.submit",
                shop_id,
                channel="web",
                **{k: v for k, v in payload.items() if v is not None},
            )
        except CommandRefused as refused:
            return form_page(refused.status, f"{visit.text(labels.TITLES['refused'])}: {refused.reason}")
        opened = await opened_answer(runtime, shop_id, summary)
        return visit.redirect(status_location(opened.status_token, opened="1"))

    return page
