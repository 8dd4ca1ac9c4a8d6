"""Every hook of aftersales, in one place (pluggy project name ``aftersales``).

Two kinds of hook, stated on each:

- **decision hooks** decide something about money or a case. They are ``firstresult``
  (the first non-None answer wins; the built-in plugin answers last) or merged by the core.
  An exception propagates: the workflow fails closed, no money moves, and the case goes to
  manual review with the error as its reason.
- **observer hooks** are told that something happened. The core calls each implementation
  in isolation: a raising observer is logged with its plugin's name and the others still run.

Registration hooks receive a ``register`` callback (as in ``llm``) and call it with typed
records; two plugins registering the same name is an error at start.

Write an implementation with ``aftersales.hookimpl``::

    from aftersales import hookimpl

    @hookimpl
    def aftersales_guarantee_exclusion(order, shipment, policy):
        if "preorder" in order.tags:
            return GuaranteeExclusion(reason="pre-orders ship on release day")
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from aftersales.decisions import (
        ComplaintDecision,
        Deduction,
        Eligibility,
        GuaranteeExclusion,
        PickupOrder,
    )
    from aftersales.domain import Case, Order, Shipment, StockLevel
    from aftersales.money.quote import RefundQuote
    from aftersales.notify.message import Channel, Message
    from aftersales.platforms import PlatformAdapter
    from aftersales.policy.schema import Policy

PROJECT = "aftersales"
hookspec = pluggy.HookspecMarker(PROJECT)


class RegistrationSpecs:
    """Hooks that register capabilities at start."""

    @hookspec
    def aftersales_register_platforms(self, register: Callable[[PlatformAdapter], None]) -> None:
        """Register platform adapters (one per platform name).

        Called once when the plugin manager starts. Call ``register(adapter)`` with an object
        that satisfies :class:`aftersales.platforms.PlatformAdapter`. Kind: registration;
        a second adapter with the same ``name`` fails the start.

        .. versionadded:: 0.1
        """

    @hookspec
    def aftersales_register_channels(self, register: Callable[[Channel], None]) -> None:
        """Register notification channels (``email`` is built in; SMS and others come as plugins).

        Call ``register(channel)`` with an object that satisfies
        :class:`aftersales.notify.message.Channel`. Kind: registration; duplicate names fail
        the start.

        .. versionadded:: 0.1
        """


class DecisionSpecs:
    """Hooks that decide; errors fail closed (no money moves, the case goes to manual review)."""

    @hookspec(firstresult=True)
    def aftersales_return_eligibility(self, case: Case, order: Order, policy: Policy) -> Eligibility | None:
        """Decide whether a return or withdrawal case is eligible and may be approved automatically.

        Called when a return/withdrawal case is opened, before any approval. Stops at the first
        non-None result; the built-in plugin applies the policy (windows, excluded tags,
        ``auto_approve`` rules) and the statutory floor. A statutory withdrawal inside the
        window stays eligible whatever a plugin answers: the core never lets a hook undercut
        the law. Kind: decision (firstresult).

        .. versionadded:: 0.1
        """

    @hookspec
    def aftersales_refund_adjustments(self, case: Case, quote: RefundQuote) -> list[Deduction] | None:
        """Propose deductions from a refund (return shipping, restocking fee, diminished value).

        Called after the refund calculator has priced the case. Results of all plugins are
        merged; the core drops (and logs) deductions the law forbids for the case type and
        jurisdiction, e.g. any restocking fee on a statutory withdrawal. Kind: decision (merged).

        .. versionadded:: 0.1
        """

    @hookspec(firstresult=True)
    def aftersales_complaint_decision(self, case: Case) -> ComplaintDecision | None:
        """Decide a complaint automatically, or return None to leave it to a person.

        Called when a complaint is received and after each new piece of evidence. Stops at the
        first non-None result. With no answer the 14-day statutory clock keeps running
        (deemed acceptance). Kind: decision (firstresult).

        .. versionadded:: 0.1
        """

    @hookspec(firstresult=True)
    def aftersales_guarantee_exclusion(
        self, order: Order, shipment: Shipment | None, policy: Policy
    ) -> GuaranteeExclusion | None:
        """Say why an order is excluded from the shipping guarantee, or None when it is covered.

        Called when the promise is snapshotted and again before a payout. Stops at the first
        non-None result; the built-in plugin applies ``guarantee.exclude`` from the policy.
        Kind: decision (firstresult).

        .. versionadded:: 0.1
        """

    @hookspec(firstresult=True)
    def aftersales_restock_wave(self, variant: StockLevel, available: int, queue: int) -> int | None:
        """Size the next back-in-stock wave for ``variant``.

        ``available`` is the stock just re-read from the platform, ``queue`` the number of
        confirmed subscribers still waiting. Return how many to notify now; the built-in
        plugin returns ``available * wave.per_unit`` capped at ``queue``. Kind: decision
        (firstresult).

        .. versionadded:: 0.1
        """

    @hookspec(firstresult=True)
    def aftersales_request_pickup(self, case: Case, order: Order | None) -> PickupOrder | None:
        """Order a courier pick-up of the goods at the shop's cost (complaints and repairs).

        Stops at the first non-None result; the built-in plugin e-mails the warehouse a
        pick-up order, so a carrier plugin can replace it by answering first.
        Kind: decision (firstresult).

        .. versionadded:: 0.1
        """


class ObserverSpecs:
    """Hooks that observe; each implementation runs in isolation, failures are logged by plugin."""

    @hookspec
    def aftersales_case_transition(self, case: Case, old: str, new: str, event: str) -> None:
        """Called after a case's state changed and the change was committed.

        ``event`` names what caused it (e.g. ``goods_received``). Kind: observer.

        .. versionadded:: 0.1
        """

    @hookspec
    def aftersales_effect_done(self, effect: dict[str, object]) -> None:
        """Called after an external effect (refund, payout, note, message) was confirmed or failed.

        ``effect`` is the ledger row as a dict (``effect_key``, ``kind``, ``state``, ``result``).
        Kind: observer.

        .. versionadded:: 0.1
        """

    @hookspec
    def aftersales_notification_render(self, message: Message) -> None:
        """Called with every rendered message before it is queued; plugins may edit it in place.

        Kind: observer (an exception is logged and the message goes out unedited by that plugin).

        .. versionadded:: 0.1
        """
