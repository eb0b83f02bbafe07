"""A load test's files: the report's JSON and the online-over-time PNG (both load tests),
and the clock-driven run's figure of rates, latency and online metrics per window over time
(the step runs plot against the offered rate instead: ``loadtest.plot_report``)."""

from __future__ import annotations

import json
import math
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from streamrec.pipeline.load_windows import LoadWindow
from streamrec.pipeline.oracle_line import flat_line
from streamrec.pipeline.overtime import OVER_TIME_PNG, plot_over_time

REPORT_JSON = "loadtest.json"
REPORT_PNG = "loadtest.png"


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
        [w.online for w in windows],
        out_dir / OVER_TIME_PNG,
        f"StreamRec load test, {consumers} consumer(s): online metrics per window",
        oracle=flat_line(oracle, end_s),
    )
    return json_path, out_dir / REPORT_PNG


def _values(values: Sequence[float | None]) -> list[float]:
    return [math.nan if v is None else v for v in values]


def _two_and_five(value: float, _pos: int) -> str:
    """A minor tick's label on a log axis: only 2 and 5 times a power of ten."""
    if value <= 0:
        return ""
    return f"{value:g}" if round(value / 10 ** math.floor(math.log10(value))) in (2, 5) else ""


def plot_clock_run(
    series: Sequence[LoadWindow], path: Path, title: str, clock_end_s: float | None = None
) -> None:
    """Three panels against time: offered, sent and achieved events/s with the lag (top),
    latency p50/p99 (middle), online Hit@10 and MRR@20 (bottom); a dashed line where the
    schedule ends (``clock_end_s``, seconds since the first sample) and the drain begins."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    fig, (ax_rate, ax_lat, ax_hit) = plt.subplots(
        3, 1, figsize=(10, 8.5), sharex=True, gridspec_kw={"height_ratios": [3, 2, 2]}
    )
    mids = [(w.online.start_s + w.online.end_s) / 2 for w in series]
    for label, values, style in (
        ("offered (schedule)", [w.offered_events_per_s for w in series], {"color": "grey"}),
        ("sent", [w.sent_events_per_s for w in series], {"linestyle": ":", "color": "tab:green"}),
        ("achieved", [w.achieved_events_per_s for w in series], {"color": "tab:blue"}),
    ):
        ax_rate.plot(mids, _values(values), marker="o", markersize=3, label=label, **style)
    ax_rate.set_ylabel("events/s")
    ax_lag = ax_rate.twinx()
    ax_lag.plot(mids, [w.lag for w in series], color="tab:red", alpha=0.6, label="lag (events)")
    ax_lag.set_ylabel("lag at window end (events)", color="tab:red")
    handles, labels = ax_rate.get_legend_handles_labels()
    lag_handles, lag_labels = ax_lag.get_legend_handles_labels()
    ax_rate.legend(handles + lag_handles, labels + lag_labels, loc="upper left", fontsize=8)
    for key in ("p50", "p99"):
        ax_lat.plot(mids, _values([w.latency_ms.get(key) for w in series]), marker="o",
                    markersize=3, label=key)  # fmt: skip
    ax_lat.set_ylabel("latency (ms)")
    ax_lat.set_yscale("log")
    ax_lat.yaxis.set_major_formatter(FuncFormatter(lambda value, _pos: f"{value:g}"))
    ax_lat.yaxis.set_minor_formatter(FuncFormatter(_two_and_five))  # 20, 50, not 2 x 10^1
    ax_lat.legend(loc="upper left", fontsize=8)
    for label, online in (
        ("online Hit@10", [w.online.hit_at_10 for w in series]),
        ("online MRR@20", [w.online.mrr_at_20 for w in series]),
    ):
        ax_hit.plot(mids, _values(online), marker="o", markersize=3, label=label)
    ax_hit.set_ylim(bottom=0)
    ax_hit.set_ylabel("per window")
    ax_hit.set_xlabel("seconds since sampling began")
    ax_hit.legend(loc="lower left", fontsize=8)
    for ax in (ax_rate, ax_lat, ax_hit):
        ax.grid(alpha=0.3)
        if clock_end_s is not None:
            ax.axvline(clock_end_s, linestyle="--", color="black", linewidth=0.8)
    if clock_end_s is not None:
        ax_rate.annotate(
            "schedule ends, drain",
            (clock_end_s, 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(-4, -12),
            textcoords="offset points",
            fontsize=8,
            ha="right",
        )  # fmt: skip  (left of the line: the lag's axis labels are right of it)
    fig.suptitle(textwrap.fill(title, 110), fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
