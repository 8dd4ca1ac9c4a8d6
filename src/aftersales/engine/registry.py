"""The registry workflows put their handlers on (``aftersales.engine.api.registry``).

Workflows are plain functions; the engine decides when they run and gives them a
:class:`~aftersales.engine.context.StepContext` inside one database transaction. Several
handlers may listen to the same event, timer kind, effect kind or template: they run in
registration order in the same transaction. A command name belongs to one function.

Registering the same function again (a module imported twice, e.g. by a test runner) replaces
the earlier registration instead of running it twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import TYPE_CHECKING, Any, TypeVar

from aftersales.domain import DomainEvent
from aftersales.engine._info import DeliveredInfo, EffectInfo, TimerInfo, UnknownCommand

if TYPE_CHECKING:
    from aftersales.engine.context import StepContext

EventHandler = Callable[["StepContext", DomainEvent], None]
TimerHandler = Callable[["StepContext", TimerInfo], None]
EffectHandler = Callable[["StepContext", EffectInfo], None]
DeliveredHandler = Callable[["StepContext", DeliveredInfo], None]
CommandHandler = Callable[..., dict[str, Any]]

F = TypeVar("F", bound=Callable[..., Any])


def _identity(func: Callable[..., Any]) -> tuple[str, str]:
    return (getattr(func, "__module__", ""), getattr(func, "__qualname__", repr(func)))


def _key(value: str) -> str:
    return value.value if isinstance(value, StrEnum) else str(value)


class Registry:
    def __init__(self) -> None:
        self._events: dict[str, list[Callable[..., Any]]] = {}
        self._timers: dict[str, list[Callable[..., Any]]] = {}
        self._effects: dict[str, list[Callable[..., Any]]] = {}
        self._delivered: dict[str, list[Callable[..., Any]]] = {}
        self._commands: dict[str, CommandHandler] = {}

    # -- registration ---------------------------------------------------------------------
    @staticmethod
    def _add(table: dict[str, list[Callable[..., Any]]], keys: tuple[str, ...], func: F) -> F:
        if not keys:
            raise ValueError(f"{func!r}: name at least one key to listen to")
        for key in keys:
            handlers = table.setdefault(_key(key), [])
            handlers[:] = [h for h in handlers if _identity(h) != _identity(func)]
            handlers.append(func)
        return func

    def on_event(self, *types: str) -> Callable[[F], F]:
        """Run the decorated ``(ctx, event)`` for normalized platform events of these types."""
        return lambda func: self._add(self._events, types, func)

    def on_timer(self, *kinds: str) -> Callable[[F], F]:
        """Run the decorated ``(ctx, timer: TimerInfo)`` when a timer of these kinds fires."""
        return lambda func: self._add(self._timers, kinds, func)

    def on_effect(self, *kinds: str) -> Callable[[F], F]:
        """Run the decorated ``(ctx, effect: EffectInfo)`` when an effect of these kinds is final."""
        return lambda func: self._add(self._effects, kinds, func)

    def on_message_delivered(self, *templates: str) -> Callable[[F], F]:
        """Run the decorated ``(ctx, message: DeliveredInfo)`` when a channel accepted a message."""
        return lambda func: self._add(self._delivered, templates, func)

    def command(self, name: str) -> Callable[[F], F]:
        """Register ``(ctx, **payload) -> dict`` as the command ``name`` (web and CLI actions)."""

        def decorate(func: F) -> F:
            existing = self._commands.get(name)
            if existing is not None and _identity(existing) != _identity(func):
                raise ValueError(
                    f"command {name!r} is already registered by {existing.__module__}.{existing.__qualname__}"
                )
            self._commands[name] = func
            return func

        return decorate

    # -- lookup ---------------------------------------------------------------------------
    def event_handlers(self, event_type: str) -> list[EventHandler]:
        return list(self._events.get(_key(event_type), ()))

    def timer_handlers(self, kind: str) -> list[TimerHandler]:
        return list(self._timers.get(kind, ()))

    def effect_handlers(self, kind: str) -> list[EffectHandler]:
        return list(self._effects.get(kind, ()))

    def delivered_handlers(self, template: str) -> list[DeliveredHandler]:
        return list(self._delivered.get(template, ()))

    def get_command(self, name: str) -> CommandHandler:
        try:
            return self._commands[name]
        except KeyError:
            raise UnknownCommand(f"no command named {name!r} is registered") from None

    def commands(self) -> list[str]:
        return sorted(self._commands)

    @contextmanager
    def isolated(self) -> Iterator[Registry]:
        """Run with an empty registry and restore the previous handlers after (tests).

        Handlers registered inside the block are forgotten when it ends.
        """
        saved = (
            {k: list(v) for k, v in self._events.items()},
            {k: list(v) for k, v in self._timers.items()},
            {k: list(v) for k, v in self._effects.items()},
            {k: list(v) for k, v in self._delivered.items()},
            dict(self._commands),
        )
        for table in (self._events, self._timers, self._effects, self._delivered, self._commands):
            table.clear()
        try:
            yield self
        finally:
            self._events, self._timers, self._effects, self._delivered, self._commands = saved

    def unregister_module(self, module: str) -> None:
        """Forget every handler defined in ``module`` (tests that register throwaway handlers)."""
        for table in (self._events, self._timers, self._effects, self._delivered):
            for key, handlers in list(table.items()):
                table[key] = [h for h in handlers if getattr(h, "__module__", None) != module]
        for name, func in list(self._commands.items()):
            if getattr(func, "__module__", None) == module:
                del self._commands[name]


registry = Registry()
"""The process-wide registry the engine dispatches from."""
