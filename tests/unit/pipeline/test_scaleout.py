"""The scale-out benchmark: its rows, its efficiency, and its command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.scaleout import parse_args
from streamrec.pipeline.loadtest import LoadTestReport, StepResult
from streamrec.pipeline.scaleout import (
    ScaleoutRow,
    efficiency_caveat,
    per_1k_events,
    plot_scaleout,
    row_from_report,
    scaleout_efficiency,
    scaleout_figure,
)
from tests.unit.figures import is_reference, legends_hide_no_data, series, suptitle, xs, ys


def row(consumers: int, saturation: float, lower_bound: bool = False) -> ScaleoutRow:
    return ScaleoutRow(consumers, saturation, lower_bound, 50.0, 0.5, 1.0, 0.1, 100.0, 200.0)


def step(rate: float, keeps_up: bool, p99: float, broker: float) -> StepResult:
    cpu = {"consumer-0": 0.5, "consumer-1": 0.25, "broker": broker, "loadtest (producer)": 0.1}
    return StepResult(rate, 6.0, int(rate * 6), rate, {"p50": 1.0, "p95": 2.0, "p99": p99},
                      0, cpu, keeps_up)  # fmt: skip


def test_efficiency_is_most_consumers_over_that_many_times_one() -> None:
    rows = [row(1, 2000), row(2, 3000), row(4, 6000)]
    assert scaleout_efficiency(rows) == 0.75  # 6000 / (4 x 2000)
    assert scaleout_efficiency([row(4, 6000), row(1, 1500)]) == 1.0  # order does not matter
    assert scaleout_efficiency([row(1, 2000), row(8, 4000)]) == 0.25


def test_efficiency_needs_one_consumer_that_kept_up_and_more_than_one_count() -> None:
    assert scaleout_efficiency([row(2, 3000), row(4, 6000)]) is None
    assert scaleout_efficiency([row(1, 0), row(4, 6000)]) is None
    assert scaleout_efficiency([row(1, 2000)]) is None
    assert scaleout_efficiency([]) is None


def test_caveat_says_when_a_saturation_is_only_a_bound() -> None:
    assert efficiency_caveat([row(1, 2000), row(2, 4000)]) is None
    caveat = efficiency_caveat([row(1, 2000), row(2, 4000, lower_bound=True)])
    assert caveat is not None and "with 2 consumer(s)" in caveat and "lower bound" in caveat
    assert "first step" in (efficiency_caveat([row(1, 0), row(2, 100)]) or "")


def test_row_takes_the_highest_step_that_kept_up() -> None:
    report = LoadTestReport(
        steps=[step(1000, True, 40.0, 0.2), step(2000, True, 80.0, 0.4),
               step(4000, False, 900.0, 0.6)],
        saturation_events_per_s=2000.0, saturation_is_lower_bound=False,
        backend="test", consumers=2, model="m",
    )  # fmt: skip
    got = row_from_report(report)
    assert (got.consumers, got.saturation_events_per_s, got.p99_ms_at_saturation) == (2, 2000, 80)
    assert (got.broker_cores, got.consumer_cores, got.producer_cores) == (0.4, 0.75, 0.1)
    assert got.broker_ms_per_1k_events == 200.0  # 0.4 cores at 2,000 events/s
    assert got.consumer_ms_per_1k_events == 375.0
    none_kept = LoadTestReport([step(1000, False, 900.0, 0.3)], 0.0, False, "test", 1, "m")
    assert row_from_report(none_kept).saturation_events_per_s == 0.0
    assert row_from_report(none_kept).p99_ms_at_saturation is None


def test_cpu_per_thousand_events() -> None:
    assert per_1k_events(0.5, 2500) == 200.0
    assert per_1k_events(None, 2500) is None and per_1k_events(0.5, 0) is None


def test_arguments_parse() -> None:
    args = parse_args(["--consumers", "1,2,4,8", "--partitions", "8", "--rates", "500,1000"])
    assert (args.consumers, args.partitions, args.rates) == ([1, 2, 4, 8], 8, [500.0, 1000.0])
    assert parse_args([]).rates[0] == 500.0  # the default profile, parsed


@pytest.mark.parametrize(
    "argv,message",
    [
        (["--consumers", "2,4"], "--consumers must include 1"),
        (["--consumers", "1,4,2"], "--consumers must rise without repeats"),
        (["--consumers", "1,0"], "argument --consumers: must be >= 1, got 0"),
        (["--consumers", "1,16", "--partitions", "8"], "more than --partitions 8"),
        (["--rates", "1000,500"], "--rates must rise"),
        (["--rates", "500,-1"], "argument --rates: must be a finite number > 0"),
        (["--step-seconds", "0"], "argument --step-seconds: must be a finite number > 0"),
        (["--fetch-wait-ms", "0"], "argument --fetch-wait-ms: must be in 1..5000, got 0"),
        (["--model", "/nonexistent/model.pt"], "no checkpoint at /nonexistent/model.pt"),
    ],
)
def test_bad_arguments_end_in_one_line_and_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        parse_args(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("scaleout: error: ") and message in err
    assert err.count("\n") == 1


def test_the_figure_marks_lower_bounds_against_linear_scaling_from_zero(tmp_path: Path) -> None:
    rows = [row(1, 2000), row(2, 3000), row(4, 5000, lower_bound=True)]
    fig = scaleout_figure(rows)
    ax_sat, ax_p99 = fig.axes
    assert suptitle(fig).startswith("StreamRec scale-out: saturation throughput")
    assert "efficiency 0.62 (1 = linear)" in suptitle(fig)
    lines = series(ax_sat)
    assert ys(lines["saturation throughput"]) == [2000, 3000, 5000]
    assert is_reference(lines["linear from 1 consumer"])
    assert ys(lines["linear from 1 consumer"]) == [2000, 4000, 8000]
    bound = lines["lower bound (every step kept up)"]
    assert xs(bound) == [4] and bound.get_markerfacecolor() == "white"
    assert ax_sat.get_ylabel() == "saturation throughput (events/s)"
    assert ax_p99.get_ylabel() == "p99 latency at saturation (ms)"
    assert ax_sat.get_ylim()[0] == 0 and ax_p99.get_ylim()[0] == 0
    assert ax_sat.get_xlabel() == ax_p99.get_xlabel() == "consumer processes"
    assert legends_hide_no_data(fig)
    plot_scaleout(rows, tmp_path / "scaleout.png")
    assert (tmp_path / "scaleout.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
