"""Repairs: the declared repair time as a durable SLA, proactive delay notices, loaner equipment.

Service desks promise "declared repair times that are kept" and "replacement equipment during
repair". Here:

- **Declared time**: ``complaints.repair_days`` per product category (``default`` for the
  rest), counted in calendar days from the start of the repair to the end of that local day.
  For a warranty claim it is never later than the guarantor's own deadline (14 days from
  receiving the item, art. 580 § 1 k.c.). Two timers: a warning to the merchant two days
  before, and the due time itself.
- **Missed**: at the due time an unfinished repair sends the customer a ``repair_delayed``
  message at once (unless the merchant already announced a delay), records
  ``repair_sla_missed`` for the observers, and establishes that the goods were not brought
  into conformity in the declared time — which opens price reduction or withdrawal to the
  consumer (art. 43e ust. 1 pkt 1 u.p.k.): the shop declared the time as reasonable.
- **Proactive**: a merchant who knows the repair will be late reports it
  (:func:`report_delay`) and the customer hears before the date passes.
- **Loaners** for the policy's ``loaner_for_categories``: issued with a serial, due back a week
  after the repaired goods are ready (or on the date the merchant sets), overdue reminders
  every :data:`LOANER_REMINDER_EVERY` up to :data:`LOANER_REMINDERS`, then the merchant.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from aftersales.calendar import end_of_local_day
from aftersales.decisions import Remedy
from aftersales.domain import Case, CaseType, Disposition, Logistics
from aftersales.store.models import Loaner
from aftersales.workflows.complaints import notices
from aftersales.workflows.complaints.clock import guarantee_deadline
from aftersales.workflows.complaints.flow import (
    CATEGORY,
    DEADLINE_GUARANTEE,
    DEADLINE_REPAIR,
    REPAIR,
    TIMER,
    TIMER_GUARANTEE_DUE,
    TIMER_LOANER_DUE,
    TIMER_REPAIR_DUE,
    TIMER_REPAIR_WARNING,
    ComplaintError,
    fire,
    ladder_of,
    section,
    set_ladder,
    timer_id,
)
from aftersales.workflows.complaints.ladder import Ground
from aftersales.workflows.complaints.states import ComplaintEvent, ComplaintStatus

if TYPE_CHECKING:
    from aftersales.engine.api import StepContext
    from aftersales.policy.schema import Policy

WARNING_BEFORE = timedelta(days=2)
LOANER_RETURN_DAYS = 7
"""Days after the repaired goods are ready that a loaner is due back (unless the merchant sets a date)."""
LOANER_REMINDER_EVERY = timedelta(days=3)
LOANER_REMINDERS = 3


# -- pure -------------------------------------------------------------------------------------------------


def repair_due(started_at: datetime, days: int, zone: Any) -> datetime:
    """End of the local day ``days`` calendar days after the repair started."""
    start = started_at.astimezone(zone).date()
    return end_of_local_day(start + timedelta(days=days), zone)


def morning_of(day: date, policy: Policy) -> datetime:
    """The opening time of the complaints desk on local ``day`` (when a person reads an alert)."""
    opening: time = policy.complaints.business_hours.start
    return datetime.combine(day, opening, tzinfo=policy.zone)


def loaner_category(case: Case, policy: Policy) -> bool:
    category = case.data.get(CATEGORY)
    return isinstance(category, str) and category in policy.complaints.loaner_for_categories


# -- the repair ---------------------------------------------------------------------------------------------


def start_repair(ctx: StepContext, case: Case, *, actor: str) -> Case:
    """Move to ``in_repair`` and start the declared repair time (durable timers)."""
    policy = ctx.policy
    now = ctx.now()
    category = case.data.get(CATEGORY)
    days = policy.complaints.repair_days_for(category if isinstance(category, str) else None)
    due = repair_due(now, days, policy.zone)
    record: dict[str, Any] = {"started_at": now.isoformat(), "days": days, "due_at": due.isoformat()}
    if case.type is CaseType.WARRANTY:
        action = guarantee_deadline(now, policy)
        case.deadlines[DEADLINE_GUARANTEE] = action.ends_at
        record["guarantee_due_at"] = action.ends_at.isoformat()
        due = min(due, action.ends_at)
        record["due_at"] = due.isoformat()
    for line in case.lines:
        line.disposition = Disposition.REPAIR
        line.logistics = Logistics.AWAITING
    if loaner_category(case, policy):
        record["loaner_offered"] = True
    case.data[REPAIR] = record
    case.deadlines[DEADLINE_REPAIR] = due
    case = fire(ctx, case, ComplaintEvent.START_REPAIR, actor=actor, reason=f"repair within {days} days")
    _arm(ctx, case, due)
    if record.get("loaner_offered"):
        notices.alert(
            ctx,
            case,
            "issue a loaner",
            f"the {category} is being repaired; lend the customer a replacement device and record its serial",
            key="loaner",
        )
    return case


def _arm(ctx: StepContext, case: Case, due: datetime) -> None:
    warn = due - WARNING_BEFORE
    if warn > ctx.now():
        ctx.schedule(timer_id(case, TIMER_REPAIR_WARNING), TIMER_REPAIR_WARNING, warn, case_id=case.id)
    ctx.schedule(timer_id(case, TIMER_REPAIR_DUE), TIMER_REPAIR_DUE, due, case_id=case.id)


def _disarm(ctx: StepContext, case: Case) -> None:
    ctx.cancel_timer(timer_id(case, TIMER_REPAIR_WARNING))
    ctx.cancel_timer(timer_id(case, TIMER_REPAIR_DUE))
    ctx.cancel_timer(timer_id(case, TIMER_GUARANTEE_DUE))


def item_received(ctx: StepContext, case: Case, *, actor: str) -> Case:
    """The goods reached the service: for a warranty claim the guarantor's 14 days start now."""
    now = ctx.now()
    for line in case.lines:
        line.logistics = Logistics.RECEIVED
    record = section(case, REPAIR)
    record["item_received_at"] = now.isoformat()
    if case.type is CaseType.WARRANTY:
        action = guarantee_deadline(now, ctx.policy)
        case.deadlines[DEADLINE_GUARANTEE] = action.ends_at
        record["guarantee_due_at"] = action.ends_at.isoformat()
        ctx.schedule(
            timer_id(case, TIMER_GUARANTEE_DUE), TIMER_GUARANTEE_DUE, action.ends_at, case_id=case.id
        )
    return fire(
        ctx,
        case,
        ComplaintEvent.ITEM_RECEIVED,
        actor=actor,
        reason="the goods reached the service",
        visible=True,
    )


def report_delay(ctx: StepContext, case: Case, *, expected_by: date, reason: str | None, actor: str) -> Case:
    """The merchant knows the repair will be late: tell the customer now, with the new date."""
    if case.status != ComplaintStatus.IN_REPAIR:
        raise ComplaintError(f"complaint {case.number} is {case.status}, not in repair")
    record = section(case, REPAIR)
    delays = list(record.get("delays") or [])
    delays.append({"expected_by": expected_by.isoformat(), "reason": reason, "at": ctx.now().isoformat()})
    record["delays"] = delays
    record["expected_by"] = expected_by.isoformat()
    _delayed_message(ctx, case, expected_by, reason, key=f"delay:{len(delays)}")
    return fire(
        ctx,
        case,
        ComplaintEvent.REPAIR_DELAYED,
        actor=actor,
        reason=reason or "the repair will take longer",
        data={"expected_by": expected_by.isoformat()},
        visible=True,
    )


def _delayed_message(
    ctx: StepContext, case: Case, expected_by: date, reason: str | None, *, key: str
) -> None:
    loaner = active_loaner(ctx, case)
    notices.to_customer(
        ctx,
        case,
        notices.REPAIR_DELAYED,
        key=key,
        context={
            "expected_by": expected_by,
            "reason": reason,
            "loaner": (f"serial {loaner.serial}" if loaner is not None else None),
        },
    )


def on_repair_warning(ctx: StepContext, case: Case) -> None:
    if case.status != ComplaintStatus.IN_REPAIR:
        return
    record = section(case, REPAIR)
    if record.get("expected_by"):
        return  # a delay was announced already
    notices.alert(
        ctx,
        case,
        "repair due soon",
        f"the declared repair time ends {record.get('due_at')}; finish it, or report the delay so the "
        "customer hears before the date passes",
        key="repair_warning",
    )


def on_repair_due(ctx: StepContext, case: Case) -> Case:
    """The declared repair time is over and the repair is not done."""
    if case.status != ComplaintStatus.IN_REPAIR:
        return case
    record = section(case, REPAIR)
    if record.get("missed"):
        return case
    record["missed"] = True
    set_ladder(case, ladder_of(case).establish(Ground.NOT_PERFORMED))
    if not record.get("expected_by"):
        days = int(record.get("days") or 7)
        expected = (ctx.now() + timedelta(days=max(1, days // 2))).astimezone(ctx.policy.zone).date()
        record["expected_by"] = expected.isoformat()
        _delayed_message(
            ctx, case, expected, "the repair takes longer than the declared time", key="sla_missed"
        )
    case = fire(
        ctx,
        case,
        ComplaintEvent.REPAIR_SLA_MISSED,
        actor=TIMER,
        reason=f"the declared repair time ({record.get('days')} days) ended {record.get('due_at')}",
        data={"sla": "repair", "due_at": record.get("due_at")},
    )
    fire(
        ctx,
        case,
        ComplaintEvent.SLA_BREACHED,
        actor=TIMER,
        reason="declared repair time missed",
        data={"sla": "repair", "due_at": record.get("due_at")},
    )
    notices.alert(
        ctx,
        case,
        "declared repair time missed",
        "the customer was told; they may now ask for a price reduction or withdraw (art. 43e ust. 1 u.p.k.)",
        key="repair_due",
    )
    return case


def on_guarantee_due(ctx: StepContext, case: Case) -> None:
    if case.status not in (ComplaintStatus.IN_REPAIR, ComplaintStatus.REPLACING):
        return
    notices.alert(
        ctx,
        case,
        "guarantee deadline",
        "the guarantor's 14 days from receiving the item are over (art. 580 § 1 k.c.)",
        key="guarantee_due",
    )


def repair_done(ctx: StepContext, case: Case, *, actor: str, note: str | None) -> Case:
    if case.status != ComplaintStatus.IN_REPAIR:
        raise ComplaintError(f"complaint {case.number} is {case.status}, not in repair")
    _disarm(ctx, case)
    set_ladder(case, ladder_of(case).fix_tried(Remedy.REPAIR))
    section(case, REPAIR)["done_at"] = ctx.now().isoformat()
    for line in case.lines:
        line.logistics = Logistics.RECEIVED
    case = fire(ctx, case, ComplaintEvent.REPAIR_DONE, actor=actor, reason=note or "repaired")
    _loaner_due_after_repair(ctx, case)
    notices.to_customer(
        ctx,
        case,
        notices.CASE_STATUS,
        key="repaired",
        context={"status": case.status, "note": note or "repaired"},
    )
    return case


def replacement_done(ctx: StepContext, case: Case, *, actor: str, note: str | None) -> Case:
    if case.status != ComplaintStatus.REPLACING:
        raise ComplaintError(f"complaint {case.number} is {case.status}, not being replaced")
    _disarm(ctx, case)
    set_ladder(case, ladder_of(case).fix_tried(Remedy.REPLACE))
    case = fire(ctx, case, ComplaintEvent.REPLACEMENT_DONE, actor=actor, reason=note or "replacement sent")
    notices.to_customer(
        ctx,
        case,
        notices.CASE_STATUS,
        key="replaced",
        context={"status": case.status, "note": note or "replaced"},
    )
    return case


def remedy_failed(ctx: StepContext, case: Case, *, actor: str, reason: str) -> Case:
    """The repair or replacement could not bring the goods into conformity: the second rung opens."""
    if case.status not in (ComplaintStatus.IN_REPAIR, ComplaintStatus.REPLACING):
        raise ComplaintError(
            f"complaint {case.number} is {case.status}: nothing is being repaired or replaced"
        )
    tried = Remedy.REPAIR if case.status == ComplaintStatus.IN_REPAIR else Remedy.REPLACE
    _disarm(ctx, case)
    set_ladder(case, ladder_of(case).fix_tried(tried).establish(Ground.NOT_PERFORMED))
    case = fire(ctx, case, ComplaintEvent.REMEDY_FAILED, actor=actor, reason=reason)
    notices.to_customer(
        ctx,
        case,
        notices.CASE_STATUS,
        key=f"failed:{tried.value}",
        context={"status": case.status, "note": reason},
    )
    return case


def defect_persists(ctx: StepContext, case: Case, *, actor: str, description: str) -> Case:
    """The customer reports the defect came back after a repair or replacement (43e ust. 1 pkt 2)."""
    ladder = ladder_of(case)
    if case.status != ComplaintStatus.RESOLVED or not ladder.tried:
        raise ComplaintError(
            f"complaint {case.number} is {case.status}: a defect that persists is reported after a repair or replacement"
        )
    set_ladder(case, ladder.establish(Ground.DEFECT_PERSISTS))
    return fire(ctx, case, ComplaintEvent.DEFECT_PERSISTS, actor=actor, reason=description)


# -- loaners ------------------------------------------------------------------------------------------------


def loaners_of(ctx: StepContext, case: Case) -> list[Loaner]:
    return list(
        ctx.session.scalars(
            select(Loaner).where(Loaner.shop_id == ctx.shop_id, Loaner.case_id == case.id).order_by(Loaner.id)
        )
    )


def active_loaner(ctx: StepContext, case: Case) -> Loaner | None:
    return next((row for row in loaners_of(ctx, case) if row.returned_at is None), None)


def issue_loaner(
    ctx: StepContext, case: Case, *, serial: str, due_back_at: datetime | None, actor: str
) -> Case:
    serial = serial.strip()
    if not serial:
        raise ComplaintError("a loaner is recorded by its serial number")
    if case.status not in (ComplaintStatus.IN_REPAIR, ComplaintStatus.REPLACING, ComplaintStatus.ACCEPTED):
        raise ComplaintError(f"complaint {case.number} is {case.status}: a loaner is lent during a repair")
    for row in loaners_of(ctx, case):
        if row.serial == serial and row.returned_at is None:
            return case  # recorded already (a double submit)
    row = Loaner(
        shop_id=ctx.shop_id, case_id=case.id, serial=serial, issued_at=ctx.now(), due_back_at=due_back_at
    )
    ctx.session.add(row)
    ctx.session.flush()
    if due_back_at is not None:
        _arm_loaner(ctx, case, row, due_back_at, reminder=1)
    return fire(
        ctx,
        case,
        ComplaintEvent.LOANER_ISSUED,
        actor=actor,
        reason=f"replacement device lent: serial {serial}",
        data={"serial": serial, "due_back_at": due_back_at.isoformat() if due_back_at else None},
        visible=True,
    )


def _arm_loaner(ctx: StepContext, case: Case, row: Loaner, at: datetime, *, reminder: int) -> None:
    ctx.schedule(
        timer_id(case, TIMER_LOANER_DUE, row.id),
        TIMER_LOANER_DUE,
        at,
        case_id=case.id,
        payload={"loaner_id": row.id, "reminder": reminder},
    )


def _loaner_due_after_repair(ctx: StepContext, case: Case) -> None:
    for row in loaners_of(ctx, case):
        if row.returned_at is None and row.due_back_at is None:
            row.due_back_at = end_of_local_day(
                (ctx.now() + timedelta(days=LOANER_RETURN_DAYS)).astimezone(ctx.policy.zone).date(),
                ctx.policy.zone,
            )
            _arm_loaner(ctx, case, row, row.due_back_at, reminder=1)


def return_loaner(ctx: StepContext, case: Case, *, serial: str, actor: str) -> Case:
    for row in loaners_of(ctx, case):
        if row.serial == serial.strip():
            if row.returned_at is not None:
                return case
            row.returned_at = ctx.now()
            ctx.cancel_timer(timer_id(case, TIMER_LOANER_DUE, row.id))
            for reminder in range(2, LOANER_REMINDERS + 1):
                ctx.cancel_timer(timer_id(case, TIMER_LOANER_DUE, f"{row.id}:{reminder}"))
            return fire(
                ctx,
                case,
                ComplaintEvent.LOANER_RETURNED,
                actor=actor,
                reason=f"replacement device returned: serial {row.serial}",
                data={"serial": row.serial},
                visible=True,
            )
    raise ComplaintError(f"no loaner with serial {serial} on complaint {case.number}")


def on_loaner_due(ctx: StepContext, case: Case, loaner_id: int, reminder: int) -> None:
    row = ctx.session.get(Loaner, loaner_id)
    if row is None or row.case_id != case.id or row.returned_at is not None or row.due_back_at is None:
        return
    notices.to_customer(
        ctx,
        case,
        notices.LOANER_OVERDUE,
        key=f"loaner:{row.id}:{reminder}",
        context={"serial": row.serial, "due_back_at": row.due_back_at},
    )
    fire(
        ctx,
        case,
        ComplaintEvent.LOANER_OVERDUE,
        actor=TIMER,
        reason=f"replacement device {row.serial} not returned (reminder {reminder})",
        data={"serial": row.serial, "reminder": reminder},
    )
    if reminder < LOANER_REMINDERS:
        ctx.schedule(
            timer_id(case, TIMER_LOANER_DUE, f"{row.id}:{reminder + 1}"),
            TIMER_LOANER_DUE,
            ctx.now() + LOANER_REMINDER_EVERY,
            case_id=case.id,
            payload={"loaner_id": row.id, "reminder": reminder + 1},
        )
    else:
        notices.alert(
            ctx,
            case,
            "loaner not returned",
            f"the replacement device {row.serial} was due back {row.due_back_at.isoformat()}; "
            f"{LOANER_REMINDERS} reminders went unanswered",
            key=f"loaner:{row.id}",
        )


__all__ = [
    "LOANER_REMINDERS",
    "LOANER_RETURN_DAYS",
    "active_loaner",
    "defect_persists",
    "issue_loaner",
    "item_received",
    "loaner_category",
    "morning_of",
    "on_guarantee_due",
    "on_loaner_due",
    "on_repair_due",
    "on_repair_warning",
    "remedy_failed",
    "repair_done",
    "repair_due",
    "replacement_done",
    "report_delay",
    "return_loaner",
    "start_repair",
]
