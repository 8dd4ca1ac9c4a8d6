"""The plugin manager and its typed facade (tox 4 style: callers never type a hook name).

Loading order: built-in plugins (:data:`aftersales.builtin.DEFAULT_PLUGINS`), then entry
points of the group ``aftersales``. ``AFTERSALES_LOAD_PLUGINS=a,b`` loads only the named entry
points; ``AFTERSALES_DISABLE_PLUGINS=a,b`` skips them (both take entry-point names; built-ins
can be disabled by module name too). ``check_pending()`` runs at start, so a misspelt
``aftersales_*`` implementation fails loudly instead of never being called.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, TypeVar

import pluggy
import structlog

from aftersales import hookspecs
from aftersales.builtin import DEFAULT_PLUGINS
from aftersales.decisions import (
    ComplaintDecision,
    Deduction,
    Eligibility,
    GuaranteeExclusion,
    PickupOrder,
)
from aftersales.domain import Case, Order, Shipment, StockLevel
from aftersales.notify.message import Channel, Message
from aftersales.platforms import PlatformAdapter

log = structlog.get_logger("aftersales.plugins")

ENTRY_POINT_GROUP = "aftersales"
T = TypeVar("T")


class PluginError(RuntimeError):
    """A plugin could not be loaded or registered something invalid."""


class DecisionHookFailed(RuntimeError):
    """A decision hook raised: the workflow fails closed and the case goes to manual review."""

    def __init__(self, hook: str, error: BaseException) -> None:
        super().__init__(f"decision hook {hook} failed: {type(error).__name__}: {error}")
        self.hook = hook
        self.error = error


@dataclass(frozen=True)
class PluginInfo:
    name: str
    distribution: str | None
    version: str | None
    hooks: tuple[str, ...]


def _names(var: str) -> set[str] | None:
    raw = os.environ.get(var)
    if raw is None or not raw.strip():
        return None
    return {n.strip() for n in raw.split(",") if n.strip()}


class Plugins:
    """Typed access to the hooks. Build one with :func:`load_plugins`."""

    def __init__(
        self, pm: pluggy.PluginManager, distributions: dict[int, tuple[str, str]] | None = None
    ) -> None:
        self.pm = pm
        self._distributions = distributions or {}
        self._platforms: dict[str, PlatformAdapter] | None = None
        self._channels: dict[str, Channel] | None = None

    # -- registration ---------------------------------------------------------------------
    def _collect(self, hook: Callable[..., object], kind: str) -> dict[str, Any]:
        found: dict[str, Any] = {}

        def register(item: Any) -> None:
            name = getattr(item, "name", None)
            if not isinstance(name, str) or not name:
                raise PluginError(f"a {kind} must have a non-empty string 'name', got {item!r}")
            if name in found:
                raise PluginError(f"two plugins registered the {kind} {name!r}")
            found[name] = item

        hook(register=register)
        return found

    def platforms(self) -> dict[str, PlatformAdapter]:
        if self._platforms is None:
            self._platforms = self._collect(self.pm.hook.aftersales_register_platforms, "platform")
        return self._platforms

    def platform(self, name: str) -> PlatformAdapter:
        try:
            return self.platforms()[name]
        except KeyError:
            known = ", ".join(sorted(self.platforms())) or "none"
            raise PluginError(f"no platform plugin named {name!r} is loaded (loaded: {known})") from None

    def channels(self) -> dict[str, Channel]:
        if self._channels is None:
            self._channels = self._collect(self.pm.hook.aftersales_register_channels, "channel")
        return self._channels

    # -- decision hooks -------------------------------------------------------------------
    def _decide(self, name: str, **kwargs: Any) -> Any:
        try:
            return getattr(self.pm.hook, name)(**kwargs)
        except Exception as exc:  # fail closed: the caller routes the case to manual review
            log.error("decision_hook_failed", hook=name, error=str(exc))
            raise DecisionHookFailed(name, exc) from exc

    def return_eligibility(self, case: Case, order: Order, policy: Any) -> Eligibility | None:
        result: Eligibility | None = self._decide(
            "aftersales_return_eligibility", case=case, order=order, policy=policy
        )
        return result

    def refund_adjustments(self, case: Case, quote: Any) -> list[Deduction]:
        results: list[list[Deduction] | None] = self._decide(
            "aftersales_refund_adjustments", case=case, quote=quote
        )
        return [d for batch in results if batch for d in batch]

    def complaint_decision(self, case: Case) -> ComplaintDecision | None:
        result: ComplaintDecision | None = self._decide("aftersales_complaint_decision", case=case)
        return result

    def guarantee_exclusion(
        self, order: Order, shipment: Shipment | None, policy: Any
    ) -> GuaranteeExclusion | None:
        result: GuaranteeExclusion | None = self._decide(
            "aftersales_guarantee_exclusion", order=order, shipment=shipment, policy=policy
        )
        return result

    def restock_wave(self, variant: StockLevel, available: int, queue: int) -> int | None:
        result: int | None = self._decide(
            "aftersales_restock_wave", variant=variant, available=available, queue=queue
        )
        return result

    def request_pickup(self, case: Case, order: Order | None) -> PickupOrder | None:
        result: PickupOrder | None = self._decide("aftersales_request_pickup", case=case, order=order)
        return result

    # -- observer hooks -------------------------------------------------------------------
    def _observe(self, name: str, **kwargs: Any) -> None:
        caller = getattr(self.pm.hook, name)
        for impl in reversed(caller.get_hookimpls()):
            try:
                impl.function(*[kwargs[arg] for arg in impl.argnames])
            except Exception as exc:  # isolation: one bad observer must not stop the others
                log.error("observer_failed", hook=name, plugin=impl.plugin_name, error=repr(exc))

    def case_transition(self, case: Case, old: str, new: str, event: str) -> None:
        self._observe("aftersales_case_transition", case=case, old=old, new=new, event=event)

    def effect_done(self, effect: dict[str, object]) -> None:
        self._observe("aftersales_effect_done", effect=effect)

    def notification_render(self, message: Message) -> None:
        self._observe("aftersales_notification_render", message=message)

    # -- introspection --------------------------------------------------------------------
    def info(self) -> list[PluginInfo]:
        dists: dict[int, tuple[str | None, str | None]] = dict(self._distributions)
        rows: list[PluginInfo] = []
        for name, plugin in self.pm.list_name_plugin():
            if plugin is None or name.startswith("_"):
                continue
            hooks = tuple(sorted(h.name for h in self.pm.get_hookcallers(plugin) or ()))
            dist, version = dists.get(id(plugin), (None, None))
            if dist is None and name.startswith("aftersales."):
                from aftersales import __version__

                dist, version = "aftersales", __version__
            rows.append(PluginInfo(name=name, distribution=dist, version=version, hooks=hooks))
        return rows


def new_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs.RegistrationSpecs)
    pm.add_hookspecs(hookspecs.DecisionSpecs)
    pm.add_hookspecs(hookspecs.ObserverSpecs)
    return pm


def load_plugins(
    *, entrypoints: bool = True, extra: Iterable[object] = (), builtins: Iterable[str] = DEFAULT_PLUGINS
) -> Plugins:
    """Build the plugin manager: built-ins first, then entry points, then ``extra`` objects."""
    pm = new_manager()
    dists: dict[int, tuple[str, str]] = {}
    only = _names("AFTERSALES_LOAD_PLUGINS")
    disabled = _names("AFTERSALES_DISABLE_PLUGINS") or set()
    for module_name in builtins:
        if module_name in disabled:
            continue
        pm.register(importlib.import_module(module_name), name=module_name)
    if entrypoints:
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            if ep.name in disabled or (only is not None and ep.name not in only):
                continue
            if pm.get_plugin(ep.name) is not None:
                continue
            try:
                plugin = ep.load()
            except Exception as exc:
                raise PluginError(f"plugin {ep.name!r} ({ep.value}) failed to import: {exc}") from exc
            pm.register(plugin, name=ep.name)
            if ep.dist is not None:
                dists[id(plugin)] = (ep.dist.name, ep.dist.version)
    for obj in extra:
        pm.register(obj)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(f"unknown hook implementation: {exc}") from exc
    return Plugins(pm, dists)
