"""``aftersales demo``: the whole product end to end on one machine, in under a minute.

One module per job: :mod:`.stage` boots the service (web + worker, embedded SQLite), the fake
WooCommerce and Shopify shops and an SMTP sink; one module per scenario plays the shop, the
customer and the merchant (:mod:`.withdrawal`, :mod:`.returns`, :mod:`.complaint`,
:mod:`.repair`, :mod:`.guarantee`, :mod:`.restock`); :mod:`.runner` moves the engine clock
between them; :mod:`.summary` prints what the system did, read back from the system itself.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime
from pathlib import Path

from rich.console import Console

from aftersales.demo.complaint import DeemedComplaint
from aftersales.demo.guarantee import LateDispatch
from aftersales.demo.repair import RepairWithLoaner
from aftersales.demo.restock import Restock
from aftersales.demo.returns import LateReturn
from aftersales.demo.runner import play
from aftersales.demo.scenario import Outcome, Scenario
from aftersales.demo.stage import Stage, boot
from aftersales.demo.summary import render
from aftersales.demo.withdrawal import Withdrawal

__all__ = ["Outcome", "Scenario", "Stage", "run_demo", "scenarios"]


def scenarios() -> list[Scenario]:
    """The six stories, in the order they run: WooCommerce first, while the fake Shopify is built."""
    return [Withdrawal(), Restock(), LateReturn(), DeemedComplaint(), RepairWithLoaner(), LateDispatch()]


SUMMARY_ORDER = ("withdrawal", "return", "complaint", "repair", "guarantee", "restock")
"""The order of the summary's rows: the order the stories are told in the docs."""


def _wait_for_interrupt(console: Console, the_stage: Stage) -> None:
    console.print()
    console.print("The service keeps running for exploring (Ctrl-C stops it):")
    console.print(
        f"  service:        {the_stage.base_url}  (GET /healthz, /readyz, /metrics)", highlight=False
    )
    console.print(f"  fake WooCommerce: {the_stage.woo.url}/wp-json/wc/v3/", highlight=False)
    console.print(f"  fake Shopify:     {the_stage.shopify.graphql_url}", highlight=False)
    console.print(f"  SMTP sink:        {the_stage.sink.host}:{the_stage.sink.port}", highlight=False)
    console.print("Press Ctrl-C to stop.", highlight=False)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        console.print("stopping")


def run_demo(
    directory: Path | None = None,
    *,
    start: datetime | None = None,
    keep_running: bool = False,
    console: Console | None = None,
) -> int:
    """Run every scenario and print the summary; 0 when all passed, 1 otherwise."""
    if console is None:
        console = Console()
        if not console.is_terminal:  # a pipe or a CI log: no terminal width to fit, keep rows readable
            console = Console(width=160)
    started = time.monotonic()

    def say(text: str) -> None:
        console.print(f"[dim]{time.monotonic() - started:5.1f}s[/dim] {text}", highlight=False)

    with boot(directory, start=start, say=say) as the_stage:
        outcomes = sorted(play(the_stage, scenarios(), say), key=lambda o: SUMMARY_ORDER.index(o.key))
        console.print()
        render(console, the_stage, outcomes, kept=keep_running)
        console.print(f"Finished in {time.monotonic() - started:.1f} s.", highlight=False)
        if keep_running:
            _wait_for_interrupt(console, the_stage)
    return 0 if all(o.ok for o in outcomes) else 1
