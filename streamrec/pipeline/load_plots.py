"""A load test's files: the report's JSON and the online-over-time PNG (both load tests),
and the clock-driven run's figure of rates, latency and online metrics per window over time
(the step runs plot against the offered rate instead: ``loadtest.plot_report``)."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from streamrec.contract.names import PRIMARY
from streamrec.pipeline.load_windows import LoadWindow
from streamrec.pipeline.oracle_line import flat_line
from streamrec.pipeline.overtime import OVER_TIME_PNG
from streamrec.pipeline.overtime_plot import draw_windows, plot_over_time, small_print
from streamrec.plotting import REFERENCE, from_zero, legend_outside, new_figure, note, save, title

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

REPORT_JSON = "loadtest.json"
REPORT_PNG = "loadtest.png"
LOAD_AXIS = "seconds since the load began"
LATENCY_LOG_LABEL = "event-to-recommendation\nlatency (ms, log scale)"


def write_report(
    report: dict[str, Any],
    windows: Sequence[LoadWindow],
    out_dir: Path,
    consumers: int,
    oracle: float | None,
) -> tuple[Path, Path]:
    """Write ``loadtest.json`` and ``online-over-time.png`` (the windows' online metrics, the
    oracle's Hit@10 as a line when given) to ``out_dir``; returns the JSON's path and where
    the caller's own figure goes (``loadtest.png``)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / REPORT_JSON
    json_path.write_text(json.dumps(report, indent=2))
    end_s = windows[-1].online.end_s if windows else 0.0
    plot_over_time(
        {PRIMARY: [w.online for w in windows]},
        out_dir / OVER_TIME_PNG,
        f"StreamRec load test, {consumers} consumer(s): online Hit@10, MRR@20 and "
        "evaluations/s per window",
        oracle=flat_line(oracle, end_s),
        xlabel=LOAD_AXIS,
    )
    return json_path, out_dir / REPORT_PNG


def _two_and_five(value: float, _pos: int) -> str:
    """A minor tick's label on a log axis: only 2 and 5 times a power of ten."""
    if value <= 0:
        return ""
    return f"{value:g}" if round(value / 10 ** math.floor(math.log10(value))) in (2, 5) else ""


def log_latency_axis(ax: Axes) -> None:
    """A logarithmic latency axis with plain tick labels (20, 50, 100, not 10^2), which
    says in its label that it is one."""
    from matplotlib.ticker import FuncFormatter

    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _pos: f"{value:g}"))
    ax.yaxis.set_minor_formatter(FuncFormatter(_two_and_five))
    ax.set_ylabel(LATENCY_LOG_LABEL)


def clock_run_figure(
    series: Sequence[LoadWindow], heading: str, clock_end_s: float | None = None
) -> Figure:
    """Four panels against time: offered (dashed, the reference), sent and achieved events/s;
    the lag; latency p50/p99; online Hit@10 and MRR@20. A vertical line where the schedule
    ends (``clock_end_s``, seconds since the first sample) and the drain begins; the last
    window, cut short by the end of the run, hollow and off the lines."""
    fig, (ax_rate, ax_lag, ax_lat, ax_hit) = new_figure(
        4, 1, figsize=(11.0, 10.0), sharex=True, gridspec_kw={"height_ratios": [3, 1.5, 2, 2]}
    )
    online = [w.online for w in series]
    for k, (label, values, style) in enumerate((
        ("offered (schedule)", [w.offered_events_per_s for w in series], {**REFERENCE}),
        ("sent", [w.sent_events_per_s for w in series],
         {"linestyle": ":", "color": "tab:green"}),
        ("achieved", [w.achieved_events_per_s for w in series], {"color": "tab:blue"}),
    )):  # fmt: skip
        draw_windows(ax_rate, online, values, label, k == 2, marker="o", markersize=3, **style)
    draw_windows(ax_lag, online, [w.lag for w in series], "lag", True, color="tab:red",
                 marker="o", markersize=3)  # fmt: skip
    for key, colour in (("p50", "tab:blue"), ("p99", "tab:orange")):
        draw_windows(ax_lat, online, [w.latency_ms.get(key) for w in series], key, key == "p99",
                     color=colour, marker="o", markersize=3)  # fmt: skip
    for label, values, colour in (
        ("online Hit@10", [w.hit_at_10 for w in online], "tab:blue"),
        ("online MRR@20", [w.mrr_at_20 for w in online], "tab:orange"),
    ):
        draw_windows(ax_hit, online, values, label, colour == "tab:orange", color=colour,
                     marker="o", markersize=3)  # fmt: skip
    ax_rate.set_ylabel("events/s")
    ax_lag.set_ylabel("lag at window end\n(events)")
    log_latency_axis(ax_lat)
    ax_hit.set_ylabel("online Hit@10, MRR@20\n(fraction, mean reciprocal rank)")
    ax_hit.set_xlabel(LOAD_AXIS)
    from_zero(ax_rate, ax_lag, ax_hit)
    for ax in (ax_rate, ax_lag, ax_lat, ax_hit):
        ax.grid(alpha=0.3)
        if clock_end_s is not None:
            ax.axvline(
                clock_end_s,
                linestyle="-.",
                color="dimgrey",
                linewidth=0.9,
                label="schedule ends, drain begins" if ax is ax_rate else "_nolegend_",
            )
        legend_outside(ax)
    title(fig, f"{heading}\noffered, sent and achieved events/s, lag, latency and online metrics "
               "per window")  # fmt: skip
    note(fig, small_print(online))
    return fig


def plot_clock_run(
    series: Sequence[LoadWindow], path: Path, heading: str, clock_end_s: float | None = None
) -> None:
    """Write ``clock_run_figure`` as a PNG at ``path``."""
    save(clock_run_figure(series, heading, clock_end_s), path)
