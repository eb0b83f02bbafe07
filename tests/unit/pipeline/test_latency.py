"""Latency percentiles from histogram buckets: never above what the run allows, rounded to
the precision the buckets hold, and said as a bound when only a bound is known."""

from __future__ import annotations

import math

import pytest

from streamrec.consumer.telemetry import LATENCY_BUCKETS
from streamrec.pipeline.latency import (
    AT_LEAST,
    AT_MOST,
    EXACT,
    Percentile,
    bounded_quantile,
    describe_percentiles,
    format_significant,
    percentiles,
    percentiles_json,
    significant,
)
from streamrec.pipeline.scrape import quantile_from_buckets

INF = math.inf


def cumulative(counts: dict[float, int]) -> dict[float, float]:
    """Cumulative buckets over the consumer's bounds from per-bucket counts."""
    out, running = {}, 0.0
    for bound in (*LATENCY_BUCKETS, INF):
        running += counts.get(bound, 0)
        out[bound] = running
    return out


# the demo of issue 19: most events waited seconds in Kafka behind a fast replay, 19 s long
SLOW_REPLAY = cumulative({1.0: 100, 5.0: 300, 10.0: 300, 30.0: 300})


@pytest.mark.parametrize(
    "value,expected",
    [(29567.17, "29,600"), (12.345, "12.3"), (0.04567, "0.0457"), (80.0, "80.0"),
     (999.96, "1,000"), (1.0, "1.00"), (0.0, "0")],
)  # fmt: skip
def test_three_significant_figures_and_no_false_decimals(value: float, expected: str) -> None:
    assert format_significant(value) == expected
    assert significant(value) == pytest.approx(float(expected.replace(",", "")))


def test_the_interpolated_p99_past_the_replay_span_becomes_a_bound() -> None:
    # Prometheus-style interpolation puts p99 at 29.3 s inside the 10-30 s bucket
    assert quantile_from_buckets(SLOW_REPLAY, 0.99) == pytest.approx(29.3333, abs=1e-4)
    p99 = bounded_quantile(SLOW_REPLAY, 0.99, cap_s=19.2)
    assert p99 == Percentile(19200.0, AT_MOST)
    assert p99 is not None and p99.describe() == "<= 19,200 ms"
    # below the cap the estimate stands, rounded: the buckets hold no more precision
    p50 = bounded_quantile(SLOW_REPLAY, 0.5, cap_s=19.2)
    estimate = quantile_from_buckets(SLOW_REPLAY, 0.5)  # 6.666... s
    assert estimate is not None and p50 == Percentile(significant(estimate * 1000)) == Percentile(
        6670.0
    )
    assert p50 is not None and p50.relation == EXACT


@pytest.mark.parametrize("cap_s", [0.004, 0.3, 7.5, 19.2, 45.0])
def test_no_percentile_is_ever_above_the_cap(cap_s: float) -> None:
    for q in (0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 1.0):
        found = bounded_quantile(SLOW_REPLAY, q, cap_s)
        assert found is not None and found.ms <= cap_s * 1000 + 1e-9


def test_a_bound_is_rounded_outwards_so_that_it_stays_true() -> None:
    # a 20.45 s replay: "<= 20,400 ms" would be false, "<= 20,500 ms" is true
    assert bounded_quantile(SLOW_REPLAY, 0.99, cap_s=20.45) == Percentile(20500.0, AT_MOST)
    assert significant(20450, direction=-1) == 20400.0
    assert significant(0.04561, direction=1) == 0.0457
    assert significant(1234567, direction=1) == 1240000.0
    assert significant(19200.0, direction=1) == 19200.0  # already three figures: unchanged


def test_the_open_last_bucket_is_only_a_lower_bound() -> None:
    beyond = cumulative({0.5: 10, INF: 90})  # most latencies above the largest bound, 30 s
    assert bounded_quantile(beyond, 0.99) == Percentile(30000.0, AT_LEAST)
    assert bounded_quantile(beyond, 0.99, cap_s=60.0) == Percentile(30000.0, AT_LEAST)
    assert bounded_quantile(beyond, 0.99, cap_s=12.0) == Percentile(12000.0, AT_MOST)


def test_no_observations_no_percentile() -> None:
    assert bounded_quantile(cumulative({}), 0.5) is None
    assert bounded_quantile({}, 0.5) is None


def test_json_and_the_printed_line_say_which_are_bounds() -> None:
    found = percentiles(SLOW_REPLAY, (0.5, 0.99), cap_s=19.2)
    as_json = percentiles_json(found)
    assert as_json["p99"] == 19200.0 and as_json["bounds"] == {"p99": AT_MOST}
    assert isinstance(as_json["p50"], float)
    line = describe_percentiles(as_json)
    assert line.startswith("p50 ") and line.endswith(", p99 <= 19,200 ms")
    empty = percentiles_json(percentiles(cumulative({}), (0.5, 0.99)))
    assert describe_percentiles(empty) == "p50 n/a, p99 n/a"
    assert describe_percentiles({"p50": 12.5, "p99": 80.0}) == "p50 12.5 ms, p99 80.0 ms"
