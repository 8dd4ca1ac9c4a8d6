"""Test kit shipped with the library (like ``structlog.testing``): plugin authors test against
the same fakes the project uses. The pytest plugin (``aftersales.testing.pytest_plugin``)
is registered through the ``pytest11`` entry point and provides fixtures such as ``smtp_sink``.
The fake shops live with their platform plugins: ``aftersales_woocommerce.testing`` and
``aftersales_shopify.testing``.
"""

from aftersales.testing.smtp import SmtpSink

__all__ = ["SmtpSink"]
