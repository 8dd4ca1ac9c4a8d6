"""Prometheus metrics for ``/metrics``: ingest counts and latency, queue depths by state.

Counters and the latency histogram live in memory (one registry per app, so two apps in one
test process do not collide). Depths are read from the database when Prometheus scrapes —
a gauge kept in memory would be wrong as soon as a second worker process drains the inbox.
"""

from __future__ import annotations

from collections.abc import Iterator

import structlog
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from aftersales.store.models import Effect, InboxItem, OutboxMessage
from aftersales.web.readonly import read_only

log = structlog.get_logger("aftersales.web.metrics")

ACK_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
"""Webhook acks are meant to take milliseconds; 5 s is where Shopify gives up."""


class StoreDepthCollector(Collector):
    """Rows per state of the inbox, the effects ledger and the outbox, counted at scrape time."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def collect(self) -> Iterator[GaugeMetricFamily]:
        families = (
            ("aftersales_inbox_items", "Webhook inbox rows by state.", InboxItem.state),
            ("aftersales_effects", "Effects ledger rows by state.", Effect.state),
            ("aftersales_outbox_messages", "Outbox messages by state.", OutboxMessage.state),
        )
        try:
            with read_only(self.sessions) as connection:
                counted = [
                    (name, doc, connection.execute(select(column, func.count()).group_by(column)).all())
                    for name, doc, column in families
                ]
        except SQLAlchemyError as exc:
            log.warning("metrics_db_unavailable", error=type(exc).__name__)
            up = GaugeMetricFamily("aftersales_store_up", "1 when the database answered the scrape.")
            up.add_metric([], 0)
            yield up
            return
        up = GaugeMetricFamily("aftersales_store_up", "1 when the database answered the scrape.")
        up.add_metric([], 1)
        yield up
        for name, doc, rows in counted:
            family = GaugeMetricFamily(name, doc, labels=["state"])
            for state, count in rows:
                family.add_metric([str(state)], float(count))
            yield family


class WebMetrics:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.deliveries = Counter(
            "aftersales_webhook_deliveries",
            "Webhook requests by platform and outcome.",
            ["platform", "outcome"],
            registry=self.registry,
        )
        self.ack_seconds = Histogram(
            "aftersales_webhook_ack_seconds",
            "Time from the start of a webhook request to its answer.",
            ["platform"],
            buckets=ACK_BUCKETS,
            registry=self.registry,
        )
        self.registry.register(StoreDepthCollector(sessions))

    def observe_delivery(self, platform: str, outcome: str, seconds: float) -> None:
        self.deliveries.labels(platform=platform, outcome=outcome).inc()
        self.ack_seconds.labels(platform=platform).observe(seconds)
