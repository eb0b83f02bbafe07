"""What the commands print: metric tables, error and notice lines."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # rich is imported by the commands that print through it
    from rich.console import Console

PROG = "streamrec"
METRIC_COLUMNS = (("Hit@10", "hit_at_10"), ("Hit@20", "hit_at_20"), ("MRR@20", "mrr_at_20"))

MetricRow = tuple[str, Mapping[str, Any]]


def overall_and_per_behavior(report: Mapping[str, Any]) -> list[MetricRow]:
    """Rows for a metrics report: ``all``, then one per behaviour."""
    return [("all", report), *report["per_behavior"].items()]


def metric_table(rows: Sequence[MetricRow]) -> list[str]:
    """Hit@10, Hit@20, MRR@20 and example counts, one line per labelled row, with a header."""
    width = max([8, *(len(label) + 2 for label, _ in rows)])
    header = " ".join([" " * width, *(f"{name:>8s}" for name, _ in METRIC_COLUMNS)])
    lines = [f"{header} {'examples':>9s}"]
    for label, m in rows:
        values = " ".join(f"{m[key]:8.4f}" for _, key in METRIC_COLUMNS)
        lines.append(f"{label:<{width}s} {values} {m['n_examples']:9,d}")
    return lines


WINDOW_COLUMNS = ("offered/s", "achieved/s", "p50 ms", "p99 ms", "lag", "Hit@10")


def window_table(windows: Sequence[Mapping[str, Any]]) -> list[str]:
    """A load test's windows, one line each: seconds, offered and achieved events/s, latency
    p50/p99, lag at the end and online Hit@10 (``-`` where a window has no value)."""

    def cell(value: float | None, spec: str) -> str:
        return f"{'-' if value is None else format(value, spec):>10s}"

    lines = [f"{'seconds':>13s} " + " ".join(f"{name:>10s}" for name in WINDOW_COLUMNS)]
    for w in windows:
        span = f"{w['start_s']:.1f}-{w['end_s']:.1f}"
        cells = (
            cell(w["offered_events_per_s"], ",.0f"),
            cell(w["achieved_events_per_s"], ",.0f"),
            cell(w["latency_ms"]["p50"], ",.0f"),
            cell(w["latency_ms"]["p99"], ",.0f"),
            cell(w["lag"], ",d"),
            cell(w["hit_at_10"], ".4f"),
        )
        lines.append(f"{span:>13s} " + " ".join(cells))
    return lines


def metrics_report(report: Mapping[str, Any], heading: str, as_json: bool) -> None:
    """A metrics report on stdout: one JSON object, or ``heading`` and the metric table
    (and one per drift phase when the report has ``phases``)."""
    if as_json:
        print(json.dumps(report))
        return
    print(heading)
    print_lines(metric_table(overall_and_per_behavior(report)))
    phases: Mapping[str, Mapping[str, Any]] | None = report.get("phases")
    if phases:
        print("by drift phase (sessions drawn before / after the scenario's moment):")
        print_lines(metric_table(list(phases.items())))


def print_lines(lines: Sequence[str], console: Console | None = None) -> None:
    """Print ``lines`` to stdout, or to ``console`` as they are (no markup, no colours)."""
    for line in lines:
        if console is None:
            print(line)
        else:
            console.print(line, markup=False, highlight=False)


def error(message: str) -> None:
    """The one ``streamrec: error: ...`` line on stderr."""
    print(f"{PROG}: error: {message}", file=sys.stderr)


def warning(message: str) -> None:
    """A ``streamrec: warning: ...`` line on stderr, at once."""
    print(f"{PROG}: warning: {message}", file=sys.stderr, flush=True)


def namespace_label(namespace: str) -> str:
    """``namespace 'ab'``, or ``the default namespace``."""
    return f"namespace {namespace!r}" if namespace else "the default namespace"


def notice(message: str) -> None:
    """A ``streamrec: ...`` line on stderr, at once (e.g. what it is waiting for)."""
    print(f"{PROG}: {message}", file=sys.stderr, flush=True)
