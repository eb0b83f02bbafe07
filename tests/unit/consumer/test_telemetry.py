"""Batched metric updates count exactly what per-event updates counted."""

from __future__ import annotations

import numpy as np
import pytest
from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.exposition import generate_latest

from streamrec.consumer.telemetry import LATENCY_BUCKETS, BatchHistogram, ConsumerMetrics


def samples(registry: CollectorRegistry, name: str) -> dict[tuple[str, str], float]:
    out = {}
    for family in registry.collect():
        for s in family.samples:
            if s.name.startswith(name) and not s.name.endswith("_created"):
                out[(s.name, s.labels.get("le", ""))] = s.value
    return out


def test_batch_histogram_exposes_what_a_histogram_observing_each_value_does() -> None:
    rng = np.random.default_rng(3)
    batches = [
        rng.exponential(0.05, size=500),
        np.array([0.0, 0.001, 0.0025, 0.005, 30.0, 30.0000001, 1e9]),  # on and past the bounds
        np.array([]),
        rng.uniform(0, 3, size=37),
    ]
    batched, each = CollectorRegistry(), CollectorRegistry()
    histogram = BatchHistogram("lat_seconds", "doc", LATENCY_BUCKETS, batched)
    reference = Histogram("lat_seconds", "doc", buckets=LATENCY_BUCKETS, registry=each)
    for batch in batches:
        histogram.observe_many(batch)
        for value in batch:
            reference.observe(float(value))
    got, want = samples(batched, "lat_seconds"), samples(each, "lat_seconds")
    assert got.keys() == want.keys()
    for key, value in want.items():
        assert got[key] == pytest.approx(value, rel=1e-12), key
    assert got[("lat_seconds_count", "")] == sum(len(b) for b in batches)
    text = generate_latest(batched).decode()
    assert 'lat_seconds_bucket{le="0.0025"} ' in text and 'le="+Inf"' in text


def test_buckets_must_increase() -> None:
    with pytest.raises(ValueError):
        BatchHistogram("x", "doc", (1.0, 0.5), CollectorRegistry())


def test_consumer_latency_is_readable_by_name() -> None:
    metrics = ConsumerMetrics()
    metrics.latency.observe_many([0.01, 0.2, 0.2])
    get = metrics.registry.get_sample_value
    assert get("streamrec_event_latency_seconds_count") == 3
    assert get("streamrec_event_latency_seconds_bucket", {"le": "0.01"}) == 1
    assert get("streamrec_event_latency_seconds_bucket", {"le": "0.25"}) == 3
    assert get("streamrec_event_latency_seconds_sum") == pytest.approx(0.41)
