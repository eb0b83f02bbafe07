"""What the commands print: one metric table, the demo summary, the load test's saturation and
its clock-driven run."""

from __future__ import annotations

from typing import Any

import pytest

from streamrec.cli.commands.pipeline import (
    clock_summary,
    demo_summary,
    drift_lines,
    timings_line,
)
from streamrec.cli.exits import EXIT_FAILED, EXIT_UNREACHABLE, exit_status
from streamrec.cli.render import metric_table, overall_and_per_behavior
from streamrec.pipeline.loadtest import LoadTestReport, StepResult, describe_saturation
from streamrec.pipeline.servers import ServiceError, ServiceUnreachable


def metrics(hit10: float, n: int) -> dict[str, Any]:
    return {"hit_at_10": hit10, "hit_at_20": hit10 + 0.1, "mrr_at_20": hit10 / 2, "n_examples": n}


def test_metric_table_rows_and_columns_line_up() -> None:
    report = {**metrics(0.25, 12_345), "per_behavior": {"comparison": metrics(0.5, 45)}}
    lines = metric_table(overall_and_per_behavior(report))
    assert lines[0].split() == ["Hit@10", "Hit@20", "MRR@20", "examples"]
    assert lines[1].split() == ["all", "0.2500", "0.3500", "0.1250", "12,345"]
    assert lines[2].split() == ["comparison", "0.5000", "0.6000", "0.2500", "45"]
    assert len({len(line) for line in lines}) == 1  # columns aligned


def demo_json(**extra: Any) -> dict[str, Any]:
    return {
        "events_produced": 40_000, "events_scored": 40_000, "events_duplicate": 0,
        "events_invalid": 0, "online": metrics(0.3, 30_000), "offline": metrics(0.3, 30_000),
        "latency_ms": {"p50": 12.5, "p99": 80.0}, "consumers": 2, "seconds": 10.1,
        "timings_s": {"setup": 3.2, "training": 0.0, "replay": 6.4, "total": 10.1}, **extra,
    }  # fmt: skip


def test_demo_timings_are_printed_apart() -> None:
    assert timings_line(demo_json()) == (
        "setup 3.2s, quick-model training 0.0s, replay 6.4s, total 10.1s"
    )
    after_replay = {"setup": 3.2, "replay": 6.4, "offline evaluation": 20.0, "plot": 2.1,
                    "total": 31.7}  # fmt: skip
    assert timings_line(demo_json(timings_s=after_replay)) == (
        "setup 3.2s, replay 6.4s, offline evaluation 20.0s, plot 2.1s, total 31.7s"
    )


def test_demo_summary_uses_the_metric_table() -> None:
    lines = demo_summary(demo_json(), "embedded")
    assert lines[1] == (
        "40,000 events produced, 40,000 scored, 0 duplicate, 0 invalid with 2 consumer(s) "
        "[embedded]"
    )
    table = metric_table([("online", metrics(0.3, 30_000)), ("offline", metrics(0.3, 30_000))])
    assert lines[3:6] == table
    assert lines[-3] == "latency (event -> recommendation written): p50 12.5 ms, p99 80.0 ms"
    bounded = {"p50": 8610.0, "p99": 19200.0, "bounds": {"p99": "<="}}
    assert demo_summary(demo_json(latency_ms=bounded), "embedded")[-3] == (
        "latency (event -> recommendation written): p50 8,610 ms, p99 <= 19,200 ms (<=: the "
        "histogram's estimate passed the replay's span, which no latency exceeds)"
    )
    assert lines[-2:] == ["Prometheus: none", "online metrics over time: not plotted"]


def test_demo_summary_puts_prometheus_beside_redis_and_names_the_plot() -> None:
    prometheus = {"hit_at_10": 0.2985, "n_examples": 30_000, "rule": "streamrec:rule"}
    over_time = {"png": "out/p.png", "windows": [{}, {}, {}], "window_s": 0.5, "source": "scrape"}
    lines = demo_summary(demo_json(prometheus=prometheus, over_time=over_time), "embedded")
    assert lines[-2:] == [
        "online Hit@10 from Prometheus (streamrec:rule): 0.2985, from Redis (exact): 0.3000, "
        "difference 0.0015 (30,000 evaluations)",
        "online Hit@10 and MRR@20 over time: out/p.png (3 windows of 0.5s, from scrape)",
    ]
    absent = {"hit_at_10": None, "reason": "no prometheus binary on PATH"}
    assert demo_summary(demo_json(prometheus=absent), "embedded")[-2] == (
        "Prometheus: none (no prometheus binary on PATH)"
    )


def load_report(*keeps_up: bool) -> LoadTestReport:
    steps = [
        StepResult(
            offered_events_per_s=rate,
            seconds=4.0,
            produced=int(rate * 4),
            achieved_events_per_s=rate,
            latency_ms={},
            lag_end=0,
            cpu_cores={},
            keeps_up=kept,
        )
        for rate, kept in zip((100.0, 200.0, 400.0), keeps_up)
    ]
    kept_up = [s.offered_events_per_s for s in steps if s.keeps_up]
    return LoadTestReport(
        steps, max(kept_up, default=0.0), len(kept_up) == len(steps), "embedded", 1, "model.pt"
    )


@pytest.mark.parametrize(
    "keeps_up, line",
    [
        ((True, True), "saturation: at least 200 events/s (every step kept up)"),
        ((True, True, False), "saturation throughput: 200 events/s"),
        ((False,), "saturation: below 100 events/s (the first step fell behind)"),
    ],
)
def test_saturation_line(keeps_up: tuple[bool, ...], line: str) -> None:
    assert describe_saturation(load_report(*keeps_up)) == line


def test_clock_run_summary_and_its_window_table() -> None:
    window = {
        "start_s": 0.0, "end_s": 2.0, "offered_events_per_s": 1234.4,
        "achieved_events_per_s": 1200.0, "latency_ms": {"p50": 40.2, "p99": 180.7}, "lag": 1500,
        "hit_at_10": 0.12345,
    }  # fmt: skip
    idle = {**window, "start_s": 2.0, "end_s": 2.5, "offered_events_per_s": 0.0,
            "latency_ms": {"p50": None, "p99": None}, "lag": 0, "hit_at_10": None}  # fmt: skip
    summary = {
        "clock": "poisson clock: 5 sessions/s, for 2s", "events_produced": 2400,
        "send_seconds": 2.04, "pacing": "schedule: 2.0s planned", "events_accounted": 2400,
        "drain_seconds": 0.46, "lag_end": 0, "latency_ms": {"p50": 41.0, "p99": 190.0},
        "online": {"hit_at_10": 0.12, "mrr_at_20": 0.05, "n_examples": 2300}, "window_s": 2.0,
        "clock_started_s": 0.012, "windows": [window, idle],
    }  # fmt: skip
    lines = clock_summary(summary)
    assert lines[0] == (
        "poisson clock: 5 sessions/s, for 2s: 2,400 events sent in 2.0s (schedule: 2.0s planned)"
    )
    assert lines[1].startswith("2,400 events accounted for, the last 0.5s after the schedule")
    assert "p99 190.0 ms" in lines[1] and "(2,300 evaluations)" in lines[1]
    assert lines[3].split() == ["seconds", "offered/s", "achieved/s", "p50", "ms", "p99", "ms",
                                "lag", "Hit@10"]  # fmt: skip
    assert lines[4].split() == ["0.0-2.0", "1,234", "1,200", "40", "181", "1,500", "0.1235"]
    assert lines[5].split() == ["2.0-2.5", "0", "1,200", "-", "-", "0", "-"]
    assert len({len(line) for line in lines[3:]}) == 1  # columns aligned


@pytest.mark.parametrize(
    "message, status",
    [
        ("embedded broker, valkey not answering after 30s", EXIT_UNREACHABLE),
        ("port 19092 for the embedded broker is already in use", EXIT_FAILED),
        ("embedded valkey exited at start-up; see run/valkey.log", EXIT_FAILED),
    ],
)
def test_service_errors_are_unreachable_only_when_nothing_answered(
    message: str, status: int
) -> None:
    error = ServiceUnreachable if "not answering" in message else ServiceError
    assert exit_status(error(message)) == status


def test_under_a_drift_the_demo_summary_shows_hit_at_10_on_each_side() -> None:
    def side(model: float, oracle: float, online: float | None) -> dict[str, Any]:
        return {"offline": metrics(model, 10), "oracle": metrics(oracle, 10),
                "online_windows": {"hit_at_10": online}}  # fmt: skip

    drift = {"scenario": "new-items", "drift_s": 3.84, "before": side(0.26, 0.32, 0.2615),
             "after": side(0.21, 0.30, None)}  # fmt: skip
    lines = demo_summary(demo_json(drift=drift), "embedded")
    assert lines[-4:] == [
        "drift (new-items) reached the stream at 3.8s; Hit@10 before -> after:",
        "  model offline   0.2600 -> 0.2100",
        "  oracle offline  0.3200 -> 0.3000",
        "  online windows  0.2615 -> n/a",
    ]
    assert drift_lines(demo_json()) == []
    drift["drift_s"] = None
    assert "was not seen" in drift_lines(demo_json(drift=drift))[0]
