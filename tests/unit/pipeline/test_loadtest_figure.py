"""The step load test's figure: latency on a labelled log axis, throughput and lag from 0,
the offered rate as the reference, the saturation marked."""

from __future__ import annotations

from pathlib import Path

from streamrec.pipeline.load_plots import LATENCY_LOG_LABEL
from streamrec.pipeline.loadtest import LoadTestReport, StepResult, plot_report, report_figure
from tests.unit.figures import (
    is_reference,
    legend_names,
    legends_hide_no_data,
    series,
    suptitle,
    ys,
)


def step(rate: float, achieved: float, lag: int, keeps_up: bool) -> StepResult:
    latency: dict[str, float | None] = {"p50": rate / 100, "p95": rate / 50, "p99": rate / 40}
    return StepResult(rate, 10.0, int(rate * 10), achieved, latency, lag, {}, keeps_up)


REPORT = LoadTestReport(
    steps=[step(1000, 998, 10, True), step(2000, 1990, 50, True), step(4000, 2400, 16000, False)],
    saturation_events_per_s=2000.0, saturation_is_lower_bound=False, backend="test",
    consumers=2, model="m", extra={"step_seconds": 10.0},
)  # fmt: skip


def test_the_step_figure_labels_units_and_starts_rates_at_zero() -> None:
    fig = report_figure(REPORT)
    ax_lat, ax_tput, ax_lag = fig.axes
    assert suptitle(fig).startswith(
        "StreamRec load test, 2 consumer(s), steps of 10 s: saturation throughput: 2,000 events/s"
    )
    assert ax_lat.get_yscale() == "log" and ax_lat.get_ylabel() == LATENCY_LOG_LABEL
    assert set(series(ax_lat)) == {"p50", "p95", "p99", "saturation"}
    assert is_reference(series(ax_tput)["offered (achieved = offered)"])
    assert ys(series(ax_tput)["achieved"]) == [998, 1990, 2400]
    assert ax_tput.get_ylim()[0] == 0 and ax_lag.get_ylim()[0] == 0
    assert ax_tput.get_ylabel() == "achieved events/s"
    assert ax_lag.get_ylabel() == "lag at step end (events)"
    assert all(ax.get_xlabel() == "offered events/s" for ax in fig.axes)
    assert all("saturation" in legend_names(ax) for ax in fig.axes)
    assert legends_hide_no_data(fig)


def test_a_saturation_every_step_kept_up_at_is_marked_a_lower_bound() -> None:
    bound = LoadTestReport(
        steps=REPORT.steps[:2], saturation_events_per_s=2000.0, saturation_is_lower_bound=True,
        backend="test", consumers=1, model="m",
    )  # fmt: skip
    fig = report_figure(bound)
    assert "at least 2,000 events/s (every step kept up)" in suptitle(fig)
    assert all("saturation (lower bound)" in legend_names(ax) for ax in fig.axes)


def test_the_step_png_is_written(tmp_path: Path) -> None:
    plot_report(REPORT, tmp_path / "a" / "loadtest.png")
    assert (tmp_path / "a" / "loadtest.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
