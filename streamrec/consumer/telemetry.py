"""Prometheus metric families exported by a consumer.

Their names and labels are a contract with the dashboards, the recording rules and the load
test, documented in ``docs/architecture.md``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence

import numpy as np
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from streamrec.contract.names import PRIMARY
from streamrec.model.evaluation.ranking import RankingTotals
from streamrec.model.scoring import CacheCounters

# Narrow where the targets lie (tens of ms): a percentile is only known to its bucket, and
# between 25 and 50 ms interpolation put every p99 of a healthy run at 46-50 ms.
LATENCY_BUCKETS = (
    0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.025, 0.03, 0.035, 0.04, 0.045, 0.05,
    0.06, 0.075, 0.09, 0.1, 0.125, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0,
    30.0,
)  # fmt: skip
NO_BEHAVIOR = "none"
# Names that readers of /metrics use (demo, load test, benchmarks, tests); the rest are
# written once below. Prometheus adds "_total" to counters and "_bucket" etc. to histograms.
LATENCY_HISTOGRAM = "streamrec_event_latency_seconds"
ASSIGNED_PARTITIONS = "streamrec_assigned_partitions"
REDIS_UP = "streamrec_redis_up"
REDIS_ERRORS = "streamrec_redis_errors"
STAGES = ("decode", "read", "score", "emit", "write", "flush", "commit")
OUTCOMES = ("scored", "unknown_item", "duplicate", "invalid", "gap")
MODEL_INFO = "streamrec_model_info"
MODEL_SWAPS = "streamrec_model_swaps"
SWAP_RESULTS = ("ok", "failed")
# followed versions (consume --follow): event-time age of the serving version, and the waits
MODEL_VERSION = "streamrec_model_version"
STALE_SERVES = "streamrec_stale_serves"
VERSION_WAITS = "streamrec_version_waits"
WAIT_RESULTS = ("ready", "timeout")
STALENESS_BUCKETS = (
    0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0, 21600.0, 86400.0
)  # fmt: skip


class BatchHistogram(Collector):
    """A Prometheus histogram fed a batch of observations at once: one numpy call and one lock
    per batch where ``Histogram.observe`` takes a lock and walks the buckets per value.

    It exposes what a ``Histogram`` with the same name and buckets would after observing each
    value (``_bucket`` with ``le``, ``_count``, ``_sum``; a test holds the two equal), without
    ``_created``.
    """

    def __init__(
        self, name: str, documentation: str, buckets: Sequence[float], registry: CollectorRegistry
    ) -> None:
        bounds = [float(b) for b in buckets]
        if bounds != sorted(set(bounds)) or not bounds:
            raise ValueError("buckets must be distinct and increasing")
        self.name = name
        self.documentation = documentation
        self._bounds = np.asarray([*bounds, float("inf")] if bounds[-1] != float("inf") else bounds)
        self._counts = np.zeros(len(self._bounds), dtype=np.int64)
        self._sum = 0.0
        self._lock = threading.Lock()
        registry.register(self)

    def observe_many(self, values: Sequence[float] | np.ndarray) -> None:
        """Observe every value (finite numbers) in one step."""
        array = np.asarray(values, dtype=np.float64)
        if array.size == 0:
            return
        # bucket i holds the values <= bound i and > bound i - 1, as Prometheus counts them
        counts = np.bincount(
            np.searchsorted(self._bounds, array, side="left"), minlength=len(self._bounds)
        )
        total = float(array.sum())
        with self._lock:
            self._counts += counts[: len(self._bounds)]
            self._sum += total

    def describe(self) -> Iterator[Metric]:
        """The family's name, for the registry's duplicate check."""
        yield HistogramMetricFamily(self.name, self.documentation)

    def collect(self) -> Iterator[Metric]:
        """The cumulative buckets, count and sum so far."""
        with self._lock:
            cumulative = np.cumsum(self._counts).tolist()
            total = self._sum
        yield HistogramMetricFamily(
            self.name,
            self.documentation,
            buckets=[(floatToGoString(b), c) for b, c in zip(self._bounds.tolist(), cumulative)],
            sum_value=total,
        )


class ConsumerMetrics:
    """One consumer's metrics in their own registry."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.events = Counter(
            "streamrec_events", "Click events by outcome", ["outcome"], registry=r
        )
        self.evaluations = Counter(
            "streamrec_online_evaluations",
            "Events scored against the previous top-K",
            ["behavior", "model"],
            registry=r,
        )
        self.hits = Counter(
            "streamrec_online_hits", "Online hits at K", ["k", "behavior", "model"], registry=r
        )
        # A gauge only to keep the contract's exact name (a Counter would add "_total").
        self.rr_sum = Gauge(
            "streamrec_online_reciprocal_rank_sum",
            "Sum of reciprocal ranks at K (monotonic)",
            ["k", "behavior", "model"],
            registry=r,
        )
        self.latency = BatchHistogram(
            LATENCY_HISTOGRAM,
            "Event timestamp to recommendation written",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.score_batch = Histogram(
            "streamrec_score_batch_seconds", "Model forward pass per batch",
            buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.stage = Histogram(
            "streamrec_batch_stage_seconds",
            "Time per batch in each stage: decode, read (Redis), score, emit (recommendations "
            "produced and acknowledged), write (Redis), flush (DLQ records), commit",
            ["stage"], buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.scorer_cache = Counter(
            "streamrec_scorer_cache_requests",
            "Incremental scorer requests: hit (LSTM steps from cached state) or rebuilt "
            "from the Redis window (new session, stale entry, slid window)",
            ["result"], registry=r,
        )  # fmt: skip
        self.scorer_cache_sessions = Gauge(
            "streamrec_scorer_cache_sessions", "Sessions in the incremental scorer's cache",
            registry=r,
        )  # fmt: skip
        self.scorer_cache_evictions = Counter(
            "streamrec_scorer_cache_evictions", "Sessions evicted from the scorer cache (LRU)",
            registry=r,
        )  # fmt: skip
        self.batch_size = Histogram(
            "streamrec_batch_size", "Events per polled batch",
            buckets=(1, 10, 50, 100, 250, 500, 1000, 2500, 5000), registry=r,
        )  # fmt: skip
        self.redis_up = Gauge(REDIS_UP, "1 while Redis answers, 0 during an outage", registry=r)
        self.redis_errors = Counter(REDIS_ERRORS, "Failed Redis round trips (retried)", registry=r)
        self.output_delivery_failures = Counter(
            "streamrec_output_delivery_failures",
            "Recommendations and DLQ records the producer gave up delivering",
            registry=r,
        )
        self.assigned_partitions = Gauge(
            ASSIGNED_PARTITIONS, "Partitions assigned to this consumer", registry=r
        )
        self.lag = Gauge(
            "streamrec_consumer_lag",
            "Messages behind the partition's end (high watermark - position)",
            ["partition"],
            registry=r,
        )
        self.model_info = Gauge(
            MODEL_INFO, "1 for the model serving now, 0 for those it replaced",
            ["version", "architecture"], registry=r,
        )  # fmt: skip
        self.model_swaps = Counter(
            MODEL_SWAPS, "Hot model reloads: ok (swapped in) or failed (old model kept)",
            ["result"], registry=r,
        )  # fmt: skip
        self.model_version = Gauge(
            MODEL_VERSION, "Newest followed version serving (consume --follow)", registry=r
        )
        self.version_staleness = BatchHistogram(
            "streamrec_version_staleness_seconds",
            "Event time scored minus the serving version's boundary (consume --follow)",
            buckets=STALENESS_BUCKETS,
            registry=r,
        )
        self.version_waits = Counter(
            VERSION_WAITS,
            "Batches that waited for a version: ready (it came) or timeout (served stale)",
            ["result"], registry=r,
        )  # fmt: skip
        self.version_wait_seconds = Histogram(
            "streamrec_version_wait_seconds", "Seconds a batch waited for its versions",
            buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.stale_serves = Counter(
            STALE_SERVES, "Events served by an older version than their time calls for",
            registry=r,
        )  # fmt: skip
        self.versions_invalid = Counter(
            "streamrec_versions_invalid", "Versions that failed validation (skipped)",
            registry=r,
        )  # fmt: skip
        for result in WAIT_RESULTS:
            self.version_waits.labels(result)
        self._models_served: set[tuple[str, str]] = set()
        for result in SWAP_RESULTS:
            self.model_swaps.labels(result)
        for outcome in OUTCOMES:
            self.events.labels(outcome)
        for stage in STAGES:
            self.stage.labels(stage)
        for result in ("hit", "new", "stale"):
            self.scorer_cache.labels(result)
        self.redis_up.set(1)

    def record_evaluations(
        self, behavior: str | None, totals: RankingTotals, model: str = PRIMARY
    ) -> None:
        """Add one model's online evaluations of one behaviour (a batch's worth at once);
        ``model``: ``primary``, ``shadow`` or ``secondary`` (``contract.names``)."""
        label = behavior or NO_BEHAVIOR
        self.evaluations.labels(label, model).inc(totals.n)
        self.hits.labels("10", label, model).inc(totals.hits_10)
        self.hits.labels("20", label, model).inc(totals.hits_20)
        self.rr_sum.labels("20", label, model).inc(totals.rr_sum_20)

    def time_stage(self, name: str, since: float) -> float:
        """Observe ``perf_counter()`` minus ``since`` as batch stage ``name``; returns now."""
        now = time.perf_counter()
        self.stage.labels(name).observe(now - since)
        return now

    def export_scorer_cache(self, counters: CacheCounters | None, sessions: int) -> None:
        """Add a stateful scorer's counters (since its last report) to the metrics."""
        if counters is None:
            return
        for result, count in counters.by_reason.items():
            self.scorer_cache.labels(result).inc(count)
        self.scorer_cache_evictions.inc(counters.evictions)
        self.scorer_cache_sessions.set(sessions)

    def serving_model(self, version: str, architecture: str) -> None:
        """``model_info``: 1 for this model, 0 for every model served before it."""
        for served in self._models_served:
            self.model_info.labels(*served).set(0)
        self._models_served.add((version, architecture))
        self.model_info.labels(version, architecture).set(1)

    def summary(self) -> dict[str, int]:
        """This process's event outcomes and failures so far (a log line at stop)."""

        def value(name: str, labels: dict[str, str] | None = None) -> int:
            return int(self.registry.get_sample_value(name, labels) or 0)

        out = {o: value("streamrec_events_total", {"outcome": o}) for o in OUTCOMES}
        out["redis_errors"] = value("streamrec_redis_errors_total")
        out["delivery_failures"] = value("streamrec_output_delivery_failures_total")
        return out
