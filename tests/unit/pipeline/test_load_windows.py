"""A load test over time: samples cut into windows of offered, sent and achieved rates,
latency, lag and online metrics, and the figure of a clock-driven run."""

from __future__ import annotations

from pathlib import Path

import pytest

from streamrec.pipeline.load_plots import LATENCY_LOG_LABEL, clock_run_figure, plot_clock_run
from streamrec.pipeline.load_windows import LoadSample, LoadWindow, latency_ms, load_windows
from streamrec.pipeline.overtime import CounterSample
from streamrec.plotting import PARTIAL
from tests.unit.figures import (
    hollow,
    is_reference,
    legend_names,
    legends_hide_no_data,
    series,
    small_print,
    suptitle,
    xs,
    ys,
)

T0 = 1_000.0  # wall-clock time of the first sample


def sample(
    dt: float, evaluations: int, queued: int, accounted: int, fast: int = 0, slow: int = 0
) -> LoadSample:
    """A sample ``dt`` after the first: ``fast`` events took under 10 ms so far, ``slow``
    10-100 ms."""
    buckets = {0.01: float(fast), 0.1: float(fast + slow), float("inf"): float(fast + slow)}
    counters = CounterSample(T0 + dt, evaluations, evaluations // 10, evaluations / 20)
    return LoadSample(counters, buckets, queued, accounted)


SAMPLES = [
    sample(0.0, 0, 0, 0),
    sample(0.5, 40, 60, 50, fast=50),
    sample(1.0, 90, 120, 100, fast=100),
    sample(1.5, 150, 400, 180, fast=100, slow=80),
    sample(2.0, 300, 500, 480, fast=100, slow=380),
    sample(2.5, 320, 500, 500, fast=100, slow=400),
]


def test_each_window_is_the_difference_of_its_bounding_samples() -> None:
    dues = [0.1 * k for k in range(1, 11)] + [1.0 + 0.002 * k for k in range(1, 401)]
    cut = load_windows(SAMPLES, 1.0, dues, clock_started=T0 + 0.05)
    assert [(w.online.start_s, w.online.end_s, w.seconds) for w in cut] == [
        (0.0, 1.0, 1.0), (1.0, 2.0, 1.0), (2.0, 2.5, 0.5),
    ]  # fmt: skip
    first, second, last = cut
    # due times are seconds after the clock started, 0.05 s after the first sample
    assert first.offered_events_per_s == 9.0  # 0.1 .. 0.9 (1.0 is at 1.05)
    assert second.offered_events_per_s == 401.0  # 1.0, then 1.002 .. 1.8 (due by 1.95)
    assert last.offered_events_per_s == 0.0  # the schedule has ended
    assert (first.sent_events_per_s, first.achieved_events_per_s, first.lag) == (120, 100, 20)
    assert (second.sent_events_per_s, second.achieved_events_per_s, second.lag) == (380, 380, 20)
    assert (last.sent_events_per_s, last.achieved_events_per_s, last.lag) == (0, 40, 0)
    # window 1 saw only fast events, window 2 mostly slow ones
    assert first.latency_ms["p99"] is not None and first.latency_ms["p99"] <= 10
    assert second.latency_ms["p50"] is not None and second.latency_ms["p50"] > 10
    assert sum(w.online.evaluations for w in cut) == 320
    assert [w.online.hits_10 for w in cut] == [9, 21, 2]


def test_a_step_run_has_no_offered_rate_and_an_idle_window_no_latency() -> None:
    cut = load_windows([*SAMPLES[:3], sample(1.5, 90, 120, 120, fast=100)], 0.5)
    assert all(w.offered_events_per_s is None for w in cut)
    assert cut[-1].latency_ms == {"p50": None, "p99": None}
    row = cut[-1].to_json()
    assert list(row)[:9] == [
        "start_s", "end_s", "seconds", "partial", "offered_events_per_s", "sent_events_per_s",
        "achieved_events_per_s", "latency_ms", "lag",
    ]  # fmt: skip
    assert LoadWindow.from_json(row).to_json() == row
    assert (row["evaluations"], row["hit_at_10"], row["achieved_events_per_s"]) == (0, None, 40)


def test_a_window_without_a_sample_has_no_rates() -> None:
    gap = [sample(0.0, 0, 0, 0), sample(2.5, 10, 10, 10)]
    cut = load_windows(gap, 1.0, [0.5], clock_started=T0)
    assert [w.seconds for w in cut] == [0.0, 0.0, 2.5]
    assert cut[0].achieved_events_per_s is None and cut[0].offered_events_per_s is None
    assert cut[-1].offered_events_per_s == pytest.approx(0.4)


def test_latency_quantiles_in_ms() -> None:
    after = {0.01: 50.0, 0.1: 100.0, float("inf"): 100.0}
    assert latency_ms(after, {}, (0.5, 0.95)) == {"p50": 10.0, "p95": 91.0}
    assert latency_ms(after, after) == {"p50": None, "p99": None}


def test_the_clock_run_figure_marks_the_partial_window_and_labels_its_units() -> None:
    # windows of 1 s over 2.5 s of samples: the last, 2.0-2.5, is partial
    cut = load_windows(SAMPLES, 1.0, [0.5, 1.5, 2.2], clock_started=T0)
    assert [w.online.partial for w in cut] == [False, False, True]
    fig = clock_run_figure(cut, "StreamRec load test, 1 consumer(s): flat clock", clock_end_s=2.0)
    ax_rate, ax_lag, ax_lat, ax_hit = fig.axes
    assert suptitle(fig).startswith("StreamRec load test, 1 consumer(s): flat clock")
    lines = series(ax_rate)
    assert {"offered (schedule)", "sent", "achieved", PARTIAL} <= set(lines)
    assert is_reference(lines["offered (schedule)"])
    # the partial window is off the achieved line, hollow, at its own rate (not a collapse)
    assert xs(lines["achieved"]) == [0.5, 1.5]
    assert hollow(lines[PARTIAL]) and ys(lines[PARTIAL]) == [40.0]
    assert "the last window, 0.5 s long" in small_print(fig)
    for ax in (ax_rate, ax_lag, ax_hit):
        assert ax.get_ylim()[0] == 0
    assert ax_rate.get_ylabel() == "events/s" and "events" in ax_lag.get_ylabel()
    assert ax_lat.get_yscale() == "log" and ax_lat.get_ylabel() == LATENCY_LOG_LABEL
    assert "log scale" in LATENCY_LOG_LABEL and "ms" in LATENCY_LOG_LABEL
    assert "Hit@10" in ax_hit.get_ylabel() and ax_hit.get_xlabel().startswith("seconds")
    assert "schedule ends, drain begins" in legend_names(ax_rate)
    assert legends_hide_no_data(fig)


def test_the_clock_run_figure_is_written(tmp_path: Path) -> None:
    cut = load_windows(SAMPLES, 1.0, [0.5, 1.5], clock_started=T0)
    plot_clock_run(cut, tmp_path / "sub" / "loadtest.png", "test", clock_end_s=2.0)
    plot_clock_run(cut, tmp_path / "plain.png", "test")
    for path in (tmp_path / "sub" / "loadtest.png", tmp_path / "plain.png"):
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
