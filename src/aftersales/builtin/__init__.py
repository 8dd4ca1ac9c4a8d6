"""Built-in behaviour, shipped as ordinary plugins registered before any third-party plugin.

A user plugin that implements the same decision hook with ``tryfirst=True`` (or a later
registration of a firstresult hook) overrides these, as in pytest's ``default_plugins``.
"""

DEFAULT_PLUGINS: tuple[str, ...] = (
    "aftersales.builtin.return_eligibility",
    "aftersales.builtin.guarantee_exclusion",
    "aftersales.builtin.restock_wave",
    "aftersales.builtin.email_channel",
    "aftersales.builtin.outbound_webhooks",
    "aftersales.builtin.pickup_email",
)
"""Module names registered first, in this order (each module is a plugin object)."""
