"""Reading a consumer's /metrics: histogram quantiles and gauges, merged across consumers."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterable

from prometheus_client.parser import text_string_to_metric_families


def scrape(url: str, timeout: float = 2.0) -> str:
    """The text exposition at ``url``."""
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return str(response.read().decode("utf-8"))


def metric_sum(texts: Iterable[str], sample_name: str, **labels: str) -> float:
    """Sum of every sample called ``sample_name`` whose labels include ``labels``."""
    total = 0.0
    for text in texts:
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == sample_name and all(
                    sample.labels.get(k) == v for k, v in labels.items()
                ):
                    total += sample.value
    return total


def histogram_buckets(texts: Iterable[str], name: str) -> dict[float, float]:
    """Cumulative bucket counts (upper bound -> count) of histogram ``name``, merged."""
    buckets: dict[float, float] = {}
    for text in texts:
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == f"{name}_bucket":
                    le = float(sample.labels["le"])
                    buckets[le] = buckets.get(le, 0.0) + sample.value
    return buckets


def bucket_delta(after: dict[float, float], before: dict[float, float]) -> dict[float, float]:
    """Buckets of the observations made between two scrapes."""
    return {le: count - before.get(le, 0.0) for le, count in after.items()}


def quantile_from_buckets(buckets: dict[float, float], q: float) -> float | None:
    """Prometheus-style ``histogram_quantile``: linear interpolation within the bucket."""
    if not buckets:
        return None
    bounds = sorted(buckets)
    total = buckets[bounds[-1]]
    if total <= 0:
        return None
    rank = q * total
    lower, below = 0.0, 0.0
    for bound in bounds:
        count = buckets[bound]
        if count >= rank:
            if bound == float("inf"):
                return lower
            span = count - below
            return lower + (bound - lower) * ((rank - below) / span if span else 0.0)
        lower, below = bound, count
    return lower


def histogram_quantile(texts: Iterable[str], name: str, q: float) -> float | None:
    """Quantile ``q`` of histogram ``name`` merged over several expositions."""
    return quantile_from_buckets(histogram_buckets(texts, name), q)
