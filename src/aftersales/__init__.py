"""aftersales: after-sales automation with legal clocks and exactly-once refunds.

Plugin authors need only :data:`hookimpl`::

    from aftersales import hookimpl

    @hookimpl
    def aftersales_register_channels(register):
        register(MySmsChannel())

The hooks are listed and documented in :mod:`aftersales.hookspecs` and in the docs' hook
reference.
"""

import pluggy

__version__ = "0.1.0"

hookimpl = pluggy.HookimplMarker("aftersales")
"""Marker for hook implementations (``@hookimpl`` / ``@hookimpl(tryfirst=True)``)."""

__all__ = ["__version__", "hookimpl"]
