"""Prometheus metric families exported by the online learner (``streamrec learn``).

Their names are a contract with the Grafana dashboard (``infra/grafana/dashboards/``) and the
docs; the consumers' side of versions (which one serves, waits, stale serves) is in
``consumer.telemetry``.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

UPDATE_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 60.0, 300.0)
LEARNER_VERSION = "streamrec_learner_version"
CLICKS_LEARNED = "streamrec_learner_clicks_learned"


class LearnerMetrics:
    """The learner's metric families on their own registry."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.version = Gauge(LEARNER_VERSION, "last model version published", registry=r)
        self.update_seconds = Histogram(
            "streamrec_learner_update_seconds",
            "seconds per version: the model update (learn + publish) and writing it",
            buckets=UPDATE_BUCKETS,
            registry=r,
        )
        self.clicks_learned = Counter(
            CLICKS_LEARNED, "clicks learned into published versions", registry=r
        )
        self.catalog_size = Gauge(
            "streamrec_learner_catalog_size", "items the last version knows", registry=r
        )
        self.watermark = Gauge(
            "streamrec_learner_watermark_seconds",
            "event time every active partition has reached (unix seconds)",
            registry=r,
        )
        self.pending = Gauge(
            "streamrec_learner_pending_clicks", "clicks read, waiting for their boundary",
            registry=r,
        )  # fmt: skip
        self.idle_partitions = Gauge(
            "streamrec_learner_idle_partitions",
            "assigned partitions read to their end for longer than the idle timeout",
            registry=r,
        )
        self.invalid_events = Counter(
            "streamrec_learner_invalid_events", "click messages that fail validation (skipped)",
            registry=r,
        )  # fmt: skip
        self.assigned_partitions = Gauge(
            "streamrec_learner_assigned_partitions", "partitions the learner reads", registry=r
        )
