"""Scale-out: the load test's step profile once per consumer count, and what adding consumers
bought (``bench/scaleout.py``).

Each consumer count gets a run of its own (``run_loadtest``: fresh embedded servers, the same
held-out sessions, the same rising rates), so the broker's CPU in one row is that row's alone.
Per row: the saturation throughput (the highest step that kept up), the p99 latency of that
step, and the cores the broker, the consumers (together) and the load generator used in it.
Efficiency is the saturation with the most consumers over that many times the saturation
with one: 1.0 is perfect scale-out.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console

from streamrec.config import Settings
from streamrec.pipeline.loadtest import LoadTestReport, StepResult, run_loadtest
from streamrec.plotting import (
    REFERENCE,
    from_zero,
    legend_outside,
    nan_for_none,
    new_figure,
    save,
    title,
)
from streamrec.progress import ProgressBoard

if TYPE_CHECKING:
    from matplotlib.figure import Figure

PRODUCER_PROCESS = "loadtest (producer)"


@dataclass
class ScaleoutRow:
    """What one consumer count achieved (figures of its saturation step)."""

    consumers: int
    saturation_events_per_s: float
    saturation_is_lower_bound: bool  # every step kept up: it may do more
    p99_ms_at_saturation: float | None
    broker_cores: float | None
    consumer_cores: float | None  # all consumer processes together
    producer_cores: float | None  # the load generator (the click producer)
    broker_ms_per_1k_events: float | None  # broker CPU milliseconds per 1,000 events
    consumer_ms_per_1k_events: float | None


def per_1k_events(cores: float | None, events_per_s: float) -> float | None:
    """CPU milliseconds per 1,000 events from cores used at ``events_per_s``."""
    if cores is None or events_per_s <= 0:
        return None
    return round(cores * 1e6 / events_per_s, 1)


def _saturation_step(report: LoadTestReport) -> StepResult | None:
    kept = [s for s in report.steps if s.keeps_up]
    return max(kept, key=lambda s: s.offered_events_per_s) if kept else None


def row_from_report(report: LoadTestReport) -> ScaleoutRow:
    """The scale-out row of one load-test run."""
    step = _saturation_step(report)
    if step is None:
        return ScaleoutRow(report.consumers, 0.0, False, None, None, None, None, None, None)
    cpu = step.cpu_cores
    consumers = [v for k, v in cpu.items() if k.startswith("consumer-")]
    consumer_cores = round(sum(consumers), 3) if consumers else None
    achieved = step.achieved_events_per_s
    return ScaleoutRow(
        consumers=report.consumers,
        saturation_events_per_s=report.saturation_events_per_s,
        saturation_is_lower_bound=report.saturation_is_lower_bound,
        p99_ms_at_saturation=step.latency_ms.get("p99"),
        broker_cores=cpu.get("broker"),
        consumer_cores=consumer_cores,
        producer_cores=cpu.get(PRODUCER_PROCESS),
        broker_ms_per_1k_events=per_1k_events(cpu.get("broker"), achieved),
        consumer_ms_per_1k_events=per_1k_events(consumer_cores, achieved),
    )


def scaleout_efficiency(rows: Sequence[ScaleoutRow]) -> float | None:
    """Saturation with the most consumers / (that many x saturation with one consumer).

    None when there is no one-consumer row, when one consumer saturated at 0, or when the
    most consumers is one (nothing to compare)."""
    one = [r for r in rows if r.consumers == 1]
    if not rows or not one or one[0].saturation_events_per_s <= 0:
        return None
    most = max(rows, key=lambda r: r.consumers)
    if most.consumers == 1:
        return None
    return round(
        most.saturation_events_per_s / (most.consumers * one[0].saturation_events_per_s), 3
    )


def efficiency_caveat(rows: Sequence[ScaleoutRow]) -> str | None:
    """Why the efficiency is only a bound, if it is."""
    bounded = [r.consumers for r in rows if r.saturation_is_lower_bound]
    if bounded:
        return (
            f"every step kept up with {', '.join(map(str, bounded))} consumer(s): their "
            "saturation is a lower bound (offer higher --rates)"
        )
    if any(r.saturation_events_per_s == 0 for r in rows):
        return "a consumer count fell behind at the first step: offer lower --rates"
    return None


def scaleout_json(rows: Sequence[ScaleoutRow], extra: dict[str, Any]) -> dict[str, Any]:
    """The result object: rows, efficiency, its caveat, and ``extra`` (run parameters)."""
    return {
        "rows": [asdict(r) for r in rows],
        "efficiency": scaleout_efficiency(rows),
        "efficiency_caveat": efficiency_caveat(rows),
        **extra,
    }


def scaleout_figure(rows: Sequence[ScaleoutRow]) -> Figure:
    """Saturation throughput against the number of consumers, beside ideal linear scale-out
    from one consumer (dashed); a lower bound (every step kept up) as a hollow triangle; and
    the p99 latency at saturation."""
    fig, (ax_sat, ax_p99) = new_figure(1, 2, figsize=(12.0, 4.2))
    counts = [r.consumers for r in rows]
    saturation = [r.saturation_events_per_s for r in rows]
    ax_sat.plot(counts, saturation, marker="o", color="tab:blue", label="saturation throughput")
    bounds = [(r.consumers, r.saturation_events_per_s) for r in rows if r.saturation_is_lower_bound]
    if bounds:
        ax_sat.plot([c for c, _ in bounds], [v for _, v in bounds], linestyle="none", marker="^",
                    markersize=9, markerfacecolor="white", markeredgecolor="tab:blue",
                    label="lower bound (every step kept up)")  # fmt: skip
    one = [r.saturation_events_per_s for r in rows if r.consumers == 1]
    if one:
        ax_sat.plot(counts, [one[0] * c for c in counts], label="linear from 1 consumer",
                    **REFERENCE)  # fmt: skip
    ax_sat.set_ylabel("saturation throughput (events/s)")
    ax_p99.plot(counts, nan_for_none([r.p99_ms_at_saturation for r in rows]), marker="s",
                color="tab:red", label="p99 at the saturation step")  # fmt: skip
    ax_p99.set_ylabel("p99 latency at saturation (ms)")
    from_zero(ax_sat, ax_p99)
    for ax in (ax_sat, ax_p99):
        ax.set_xticks(counts)
        ax.set_xlabel("consumer processes")
        ax.grid(alpha=0.3)
        legend_outside(ax)
    efficiency = scaleout_efficiency(rows)
    title(
        fig,
        "StreamRec scale-out: saturation throughput and its p99 latency by consumer count"
        + (f"; efficiency {efficiency:.2f} (1 = linear)" if efficiency is not None else ""),
    )
    return fig


def plot_scaleout(rows: Sequence[ScaleoutRow], path: Path) -> None:
    """Write ``scaleout_figure`` as a PNG at ``path``."""
    save(scaleout_figure(rows), path)


def run_scaleout(
    settings: Settings,
    consumer_counts: Sequence[int],
    rates: list[float],
    step_seconds: float,
    out_dir: Path,
    console: Console,
) -> tuple[dict[str, Any], Path, Path]:
    """A load test per consumer count; writes scaleout.json and scaleout.png in ``out_dir``
    (each count's own loadtest.json/png under ``loadtest-<N>c/``). Returns (result, json, png).
    """
    rows: list[ScaleoutRow] = []
    with ProgressBoard(console) as board:
        task = board.add("scale-out", total=len(consumer_counts))
        for done, count in enumerate(consumer_counts):
            board.update(task, done, info=f"{count} consumer(s)")
            board.note(f"{count} consumer(s), {settings.partitions} partitions:")
            report, _json, _png = run_loadtest(
                settings, rates, step_seconds, count, out_dir / f"loadtest-{count}c", console,
                fractions=(),
            )  # fmt: skip
            row = row_from_report(report)
            rows.append(row)
            board.note(
                f"{count} consumer(s): saturation {row.saturation_events_per_s:,.0f} ev/s"
                f"{' (lower bound)' if row.saturation_is_lower_bound else ''}, p99 "
                f"{row.p99_ms_at_saturation} ms, broker {row.broker_cores} cores, consumers "
                f"{row.consumer_cores} cores"
            )
            board.update(task, done + 1)
    result = scaleout_json(rows, {
        "partitions": settings.partitions, "rates": rates, "step_seconds": step_seconds,
        "fetch_wait_ms": settings.fetch_wait_ms, "cpu_count": os.cpu_count(),
        "loadavg_1m_at_end": round(os.getloadavg()[0], 2),
    })  # fmt: skip
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / "scaleout.json"
    json_path.write_text(json.dumps(result, indent=2))
    png_path = out_dir / "scaleout.png"
    plot_scaleout(rows, png_path)
    return result, json_path, png_path
