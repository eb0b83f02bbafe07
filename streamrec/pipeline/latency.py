"""Latency percentiles as a histogram can honestly state them.

The consumers export latency as a histogram (``consumer.telemetry.LATENCY_BUCKETS``), not
per-event values, so a percentile is known only to lie in one bucket; Prometheus-style
interpolation inside it (``scrape.quantile_from_buckets``) is an estimate. Between wide
buckets (10 s to 30 s) that estimate can pass anything the run could have produced: a 19 s
replay cannot hold a 29.6 s latency. ``bounded_quantile`` keeps the estimate, but never above
``cap_s`` (the longest latency the run allows, e.g. its span: every event was sent after the
replay began and written before the drain ended); when the estimate passed the cap only
"at most the cap" is known and it says so. A percentile in the open last bucket is only
"at least" its lower bound. Values are rounded to three significant figures (the buckets
hold no more precision than that), bounds outwards so that they stay true.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from streamrec.pipeline.scrape import quantile_from_buckets

SIGNIFICANT_DIGITS = 3
EXACT, AT_MOST, AT_LEAST = "=", "<=", ">="


def significant(value: float, digits: int = SIGNIFICANT_DIGITS, direction: int = 0) -> float:
    """``value`` rounded to ``digits`` significant figures: to the nearest (``direction`` 0),
    up (1: an upper bound stays true) or down (-1: a lower bound stays true); 0 stays 0."""
    if value == 0 or not math.isfinite(value):
        return value
    decimals = digits - 1 - math.floor(math.log10(abs(value)))
    if direction == 0:
        return round(value, decimals)
    scaled = value * 10.0**decimals
    step = math.ceil(scaled - 1e-9) if direction > 0 else math.floor(scaled + 1e-9)
    return round(step / 10.0**decimals, max(decimals, 0))


def format_significant(value: float, digits: int = SIGNIFICANT_DIGITS) -> str:
    """``value`` to ``digits`` significant figures, with thousands separators and no decimals
    beyond them: 29567.17 -> "29,600", 12.345 -> "12.3", 0.04567 -> "0.0457"."""
    rounded = significant(value, digits)
    if rounded == 0:
        return "0"
    decimals = max(digits - 1 - math.floor(math.log10(abs(rounded))), 0)
    return f"{rounded:,.{decimals}f}"


@dataclass(frozen=True)
class Percentile:
    """One latency percentile in milliseconds: an estimate (``=``), or a bound (``<=``,
    ``>=``) when that is all the histogram and the run's span can say."""

    ms: float
    relation: str = EXACT

    def describe(self) -> str:
        """``12.3 ms``, ``<= 19,400 ms`` or ``>= 30,000 ms``."""
        prefix = "" if self.relation == EXACT else f"{self.relation} "
        return f"{prefix}{format_significant(self.ms)} ms"


def bounded_quantile(
    buckets: Mapping[float, float], q: float, cap_s: float | None = None
) -> Percentile | None:
    """Quantile ``q`` of cumulative ``buckets`` (upper bound in seconds -> count), interpolated
    inside its bucket as Prometheus does (``quantile_from_buckets``), never above ``cap_s``;
    None without observations."""
    value = quantile_from_buckets(dict(buckets), q)
    if value is None:
        return None
    top = max((b for b in buckets if math.isfinite(b)), default=0.0)
    total = buckets[max(buckets)]
    if buckets.get(top, 0.0) < q * total:  # in the open last bucket: at least ``top``
        if cap_s is None or cap_s >= top:
            return Percentile(significant(top * 1000, direction=-1), AT_LEAST)
        return Percentile(significant(cap_s * 1000, direction=1), AT_MOST)
    if cap_s is not None and value > cap_s:
        return Percentile(significant(cap_s * 1000, direction=1), AT_MOST)
    return Percentile(significant(value * 1000))


def percentiles(
    buckets: Mapping[float, float], quantiles: Sequence[float], cap_s: float | None = None
) -> dict[str, Percentile | None]:
    """``{"p50": ..., "p99": ...}`` for ``quantiles`` (see ``bounded_quantile``)."""
    return {f"p{round(q * 100)}": bounded_quantile(buckets, q, cap_s) for q in quantiles}


def percentiles_json(found: Mapping[str, Percentile | None]) -> dict[str, object]:
    """The summary's ``latency_ms``: each percentile's value (None without observations) and,
    under ``bounds``, the ones that are only a bound (``{"p99": "<="}``)."""
    out: dict[str, object] = {k: None if p is None else p.ms for k, p in found.items()}
    out["bounds"] = {k: p.relation for k, p in found.items() if p and p.relation != EXACT}
    return out


def describe_percentiles(latency_ms: Mapping[str, object]) -> str:
    """``p50 12.3 ms, p99 <= 19,400 ms`` from a ``percentiles_json`` object (``n/a`` where a
    percentile had no observations)."""
    raw_bounds = latency_ms.get("bounds")
    bounds: Mapping[str, str] = raw_bounds if isinstance(raw_bounds, Mapping) else {}
    parts = []
    for key, value in latency_ms.items():
        if key == "bounds":
            continue
        shown = (
            Percentile(float(value), bounds.get(key, EXACT)).describe()
            if isinstance(value, int | float)
            else "n/a"
        )
        parts.append(f"{key} {shown}")
    return ", ".join(parts)
