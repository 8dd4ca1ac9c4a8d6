"""The demo's last screen: what happened per case, what money moved, what mail went out, where to look.

Nothing here computes a result: every row is an :class:`~aftersales.demo.scenario.Outcome`
read from the system (cases and event logs in the database, refunds recorded by the fake
shops, messages received by the SMTP sink), and the totals are counted again from the fakes
and the sink. A failed or unavailable scenario is shown in red with its reason.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text
from sqlalchemy import select

from aftersales.demo.scenario import Outcome, money_text
from aftersales.demo.stage import Stage
from aftersales.store.models import CaseRow


def table(outcomes: Sequence[Outcome]) -> Table:
    grid = Table(title="aftersales demo", show_lines=True, expand=True)
    grid.add_column("", width=2)
    grid.add_column("case", no_wrap=True)
    grid.add_column("platform", no_wrap=True)
    grid.add_column("what happened")
    grid.add_column("money moved", no_wrap=True)
    grid.add_column("e-mails", justify="right", no_wrap=True)
    for outcome in outcomes:
        if outcome.ok:
            mark, happened = Text("✓", style="green"), Text(outcome.happened)
        else:
            mark = Text("✗", style="red")
            label = "not available" if not outcome.available else "FAILED"
            happened = Text(f"{label}: {outcome.problem or 'unknown'}", style="red")
        title = Text(outcome.title, style="bold")
        grid.add_row(
            mark,
            Text(outcome.case),
            outcome.platform,
            Text.assemble(title, "\n", happened),
            money_text(outcome.money),
            str(len(outcome.emails)),
        )
    return grid


def totals(stage: Stage, outcomes: Sequence[Outcome]) -> str:
    """Money and mail counted again at the source: every order's refunds at the fakes, the sink."""
    moved: dict[str, Decimal] = {}
    refunds = 0
    for outcome in outcomes:
        for amount, currency in outcome.money:
            moved[currency] = moved.get(currency, Decimal(0)) + amount
            refunds += 1
    messages = stage.sink.messages
    money = ", ".join(f"{amount:.2f} {currency}" for currency, amount in sorted(moved.items())) or "nothing"
    return (
        f"Money moved at the shops: {money} in {refunds} refund(s). "
        f"E-mails received by the SMTP sink: {len(messages)}."
    )


def save_mail(stage: Stage) -> Path:
    """Every message the sink received, as ``.eml`` files beside the database (open them in a mail client)."""
    folder = stage.root / "mail"
    folder.mkdir(exist_ok=True)
    for index, message in enumerate(stage.sink.messages, start=1):
        to = re.sub(r"[^A-Za-z0-9@._-]+", "_", str(message["To"]))[:60]
        (folder / f"{index:03d}-{to}.eml").write_bytes(message.as_bytes())
    return folder


def next_steps(stage: Stage, outcomes: Sequence[Outcome], *, kept: bool) -> list[str]:
    db = stage.db_url
    lines = [f"State of this run: {stage.root}"]
    if stage.has_route("/status"):
        from aftersales.web.links import status_url

        numbers = {o.case for o in outcomes if o.ok}
        rows = stage.read(lambda s: s.scalars(select(CaseRow).where(CaseRow.number.in_(numbers))).all())
        for row in sorted(rows, key=lambda r: r.number):
            lines.append(f"  status page of {row.number}: {status_url(row)}")
        if not kept:
            lines.append("  (the pages answer while the service runs: add --keep-running)")
    else:
        lines.append("  status pages: not served by this build's web app (no /status route yet)")
    lines += [
        f"  cases:            aftersales cases list --db {db}",
        f"  one case:         aftersales cases show CASE_NUMBER --db {db}",
        f"  webhooks:         aftersales deliveries list --db {db}",
        f"  back-in-stock:    aftersales restock report --db {db}",
        f"  e-mails (.eml):   {stage.root / 'mail'}",
    ]
    return lines


def render(console: Console, stage: Stage, outcomes: Sequence[Outcome], *, kept: bool) -> None:
    console.print(table(outcomes))
    console.print(totals(stage, outcomes))
    save_mail(stage)
    failed = [o for o in outcomes if not o.ok]
    if failed:
        console.print(
            Text(
                f"{len(failed)} of {len(outcomes)} scenarios failed: {', '.join(o.title for o in failed)}",
                "red",
            )
        )
    else:
        console.print(Text(f"All {len(outcomes)} scenarios passed.", "green"))
    console.print()
    console.print("Where to look next:")
    for line in next_steps(stage, outcomes, kept=kept):
        console.print(line, highlight=False, soft_wrap=True)
