"""pytest fixtures for aftersales and its plugin authors (loaded through the ``pytest11`` entry point)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from aftersales.testing.smtp import SmtpSink


@pytest.fixture
def smtp_sink(monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpSink]:
    """A real SMTP server on a free port; ``AFTERSALES_SMTP_HOST/PORT`` point the e-mail channel at it."""
    with SmtpSink() as sink:
        monkeypatch.setenv("AFTERSALES_SMTP_HOST", sink.host)
        monkeypatch.setenv("AFTERSALES_SMTP_PORT", str(sink.port))
        yield sink
