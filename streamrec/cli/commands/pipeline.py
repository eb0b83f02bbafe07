"""Whole-pipeline commands: ``demo`` and ``loadtest``, and their summaries."""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from typing import Any

from streamrec.cli import render
from streamrec.cli.exits import EXIT_FAILED, EXIT_OK, UsageError
from streamrec.cli.validators import writable_folder
from streamrec.config import Settings

TIMING_LABELS = {"training": "quick-model training"}  # other phases: by their own names


def timings_line(summary: Mapping[str, Any]) -> str:
    """How long each phase of a demo or load test took, in the order they ran, then the total
    (their sum: ``pipeline.phases``)."""
    timings: Mapping[str, float] = summary["timings_s"]
    ordered = [k for k in timings if k != "total"] + (["total"] if "total" in timings else [])
    return ", ".join(f"{TIMING_LABELS.get(k, k)} {timings[k]:.1f}s" for k in ordered)


def demo_summary(summary: Mapping[str, Any], backend: str) -> list[str]:
    """The demo's human summary: counts, timings, online vs offline metrics, latency."""
    latency: Mapping[str, Any] = summary["latency_ms"]
    rows = [("online", summary["online"]), ("offline", summary["offline"])]
    if "models" in summary:  # a shadow model: each model's online and offline figures
        rows = [
            (f"{label} {side}", figures[side])
            for label, figures in summary["models"].items()
            for side in ("online", "offline")
        ]
    return [
        "",
        f"{summary['events_produced']:,} events produced, {summary['events_scored']:,} scored, "
        f"{summary['events_duplicate']:,} duplicate, {summary['events_invalid']:,} invalid "
        f"with {summary['consumers']} consumer(s) [{backend}]",
        timings_line(summary),
        *render.metric_table(rows),
        latency_line(latency),
        prometheus_line(summary),
        over_time_line(summary),
        *drift_lines(summary),
        *learn_lines(summary),
    ]


def learn_lines(summary: Mapping[str, Any]) -> list[str]:
    """With --learn: the versions, each arm's online vs offline agreement, the new items,
    and under a drift scenario the before/after table."""
    from streamrec.pipeline.demo_learn import before_after_table

    learn: Mapping[str, Any] | None = summary.get("learn")
    if not learn:
        return []
    new = (
        f"{learn['unknown_item']:,} clicks unknown to their version, of "
        f"{learn['new_item_clicks']:,} clicks on items version 0 did not know"
        if learn["new_item_clicks"]
        else "no click on an item version 0 did not know"
    )
    lines = [
        f"learning: {learn['versions_published']} versions published (refresh "
        f"{learn['refresh']}, {learn['event_refresh_s']:g}s of event time each); {new}; "
        f"{learn['stale']:,} served stale"
    ]
    for arm in learn["arms"].values():
        verdict = "equal to" if arm["max_difference"] <= learn["tolerance"] else "DIFFERENT from"
        lines.append(
            f"  {arm['role']} arm: online {verdict} offline (largest difference "
            f"{arm['max_difference']:.4f}, tolerance {learn['tolerance']:g})"
        )
    table = before_after_table(learn)
    if table:
        lines += ["before / after the drift (offline on each side's sessions; online windows):"]
        lines += table
    return lines


def latency_line(latency: Mapping[str, Any]) -> str:
    """The demo's latency percentiles: estimates from the consumers' histograms, or bounds
    where the estimate passed the replay's span (``pipeline.latency``)."""
    from streamrec.pipeline.latency import describe_percentiles

    line = f"latency (event -> recommendation written): {describe_percentiles(latency)}"
    if latency.get("bounds"):
        line += " (<=: the histogram's estimate passed the replay's span, which no latency exceeds)"
    return line


def prometheus_line(summary: Mapping[str, Any]) -> str:
    """Prometheus's online Hit@10 (its recording rule) beside the exact one from Redis."""
    prom: Mapping[str, Any] | None = summary.get("prometheus")
    redis_hit = summary["online"]["hit_at_10"]
    if not prom or prom.get("hit_at_10") is None:
        reason = prom.get("reason", "") if prom else ""
        return f"Prometheus: none ({reason})" if reason else "Prometheus: none"
    return (
        f"online Hit@10 from Prometheus ({prom['rule']}): {prom['hit_at_10']:.4f}, from Redis "
        f"(exact): {redis_hit:.4f}, difference {abs(prom['hit_at_10'] - redis_hit):.4f} "
        f"({prom['n_examples']:,} evaluations)"
    )


def over_time_line(summary: Mapping[str, Any]) -> str:
    """Where the over-time plot is and what is in it."""
    over: Mapping[str, Any] | None = summary.get("over_time")
    if not over or over.get("png") is None:
        return "online metrics over time: not plotted"
    return (
        f"online Hit@10 and MRR@20 over time: {over['png']} ({len(over['windows'])} windows "
        f"of {over['window_s']:g}s, from {over['source']})"
    )


def drift_lines(summary: Mapping[str, Any]) -> list[str]:
    """Under a drift scenario: when the drift reached the stream, and Hit@10 before and after
    it offline (the model, the oracle) and online (the windows on each side)."""
    drift: Mapping[str, Any] | None = summary.get("drift")
    if not drift:
        return []
    at = "was not seen" if drift["drift_s"] is None else f"at {drift['drift_s']:.1f}s"
    lines = [f"drift ({drift['scenario']}) reached the stream {at}; Hit@10 before -> after:"]
    for label, key in (
        ("model offline", "offline"),
        ("oracle offline", "oracle"),
        ("online windows", "online_windows"),
    ):
        figures = [(drift[side][key] or {}).get("hit_at_10") for side in ("before", "after")]
        shown = " -> ".join("n/a" if f is None else f"{f:.4f}" for f in figures)
        lines.append(f"  {label:<15s} {shown}")
    return lines


def demo(args: argparse.Namespace, settings: Settings) -> int:
    """Run the whole pipeline once; 1 when a consumer did not exit cleanly."""
    from rich.console import Console

    from streamrec.pipeline.demo import run_demo

    if args.out_dir:
        writable_folder(args.out_dir, "--out-dir")  # before the run, not after it
    learn, clock = demo_learning(args, settings)
    console = Console(stderr=True, soft_wrap=True)
    result = run_demo(
        settings,
        args.sessions,
        args.consumers,
        console,
        rate=args.rate,
        concurrency=args.concurrency,
        out_dir=args.out_dir,
        window_s=args.window_seconds,
        learn=learn,
        clock=clock,
    )
    summary = result.to_json()
    render.print_lines(demo_summary(summary, result.backend), console)
    if args.json:
        print(json.dumps(summary))
    if any(summary["consumer_exit_codes"]):
        render.error(f"consumer exit codes {summary['consumer_exit_codes']}")
        return EXIT_FAILED
    learn = summary.get("learn")
    if learn and (not learn["agreement"] or any(learn["learner_exit_codes"])):
        render.error(
            "--learn: online differs from offline by more than "
            f"{learn['tolerance']:g} on an arm, or the learner exited with "
            f"{learn['learner_exit_codes']} (see the summary; the demo's files are kept with "
            "--keep-demo-dir)"
        )
        return EXIT_FAILED
    return EXIT_OK


def demo_learning(args: argparse.Namespace, settings: Settings) -> tuple[Any, Any]:
    """The demo's ``LearnPlan`` (None without --learn) and clock (None: flat), or a one-line
    ``UsageError`` for flags that do not go together."""
    from streamrec.pipeline.demo_learn import LearnPlan
    from streamrec.traffic.clock import ClockSpec

    if args.speedup is not None and args.clock != "replay":
        raise UsageError("--speedup is the replay clock's: add --clock replay (with --from-csv)")
    if args.clock == "replay" and not settings.csv_path:
        raise UsageError("--clock replay replays a click log's own times: give --from-csv LOG")
    if args.refresh is not None and not args.learn:
        raise UsageError("--refresh is the learner's period: add --learn")
    speedup = args.speedup or 1.0
    clock = ClockSpec("replay", speedup) if args.clock == "replay" else None
    if not args.learn:
        return None, clock
    if args.refresh is None or args.refresh[0] is None:
        raise UsageError(
            "--learn needs --refresh PERIOD, a version every PERIOD (e.g. 10m with --clock "
            "replay, 2s on generated data); 'never' is the frozen model alone"
        )
    # the learner starts from the training side and the demo replays the held-out side
    wanted = ("time", "day") if settings.csv_path else ("session",)
    if settings.split not in wanted:
        raise UsageError(
            f"--learn learns from the training side of the split and replays the held-out "
            f"side: give --split {' or '.join(wanted)}"
            + (" (a click log's last --test-days days held out)" if settings.csv_path else "")
        )
    return LearnPlan(args.refresh[0], speedup), clock


def clock_summary(summary: Mapping[str, Any]) -> list[str]:
    """A clock-driven load test's summary: what was sent, the drain, the run's latency and
    online metrics, then the windows."""
    latency, online = summary["latency_ms"], summary["online"]
    pacing = f" ({summary['pacing']})" if summary.get("pacing") else ""
    return [
        f"{summary['clock']}: {summary['events_produced']:,} events sent in "
        f"{summary['send_seconds']:.1f}s{pacing}",
        f"{summary['events_accounted']:,} events accounted for, the last "
        f"{summary['drain_seconds']:.1f}s after the schedule ended (lag at the end "
        f"{summary['lag_end']:,}); latency p50 {latency['p50']} ms, p99 {latency['p99']} ms; "
        f"online Hit@10 {online['hit_at_10']:.4f}, MRR@20 {online['mrr_at_20']:.4f} "
        f"({online['n_examples']:,} evaluations)",
        f"per window of {summary['window_s']:g}s (seconds since sampling began; the clock "
        f"started at {summary['clock_started_s']:g}s):",
        *render.window_table(summary["windows"]),
    ]


def loadtest(args: argparse.Namespace, settings: Settings) -> int:
    """Offer load in steps, at one rate or on a clock; write and summarise the report."""
    from rich.console import Console

    from streamrec.cli.load_plan import StepPlan, load_plan

    plan = load_plan(args)
    out_dir = args.out_dir or settings.artifacts / "loadtest"
    writable_folder(out_dir, "--out-dir")  # before the run, not after it
    console = Console(stderr=True, soft_wrap=True)
    if isinstance(plan, StepPlan):
        from streamrec.pipeline.loadtest import describe_saturation, run_loadtest

        report, json_path, png_path = run_loadtest(
            settings, plan.rates, plan.step_seconds, args.consumers, out_dir, console,
            args.window_seconds, plan.fractions, plan.repeats,
        )  # fmt: skip
        summary = report.to_json()
        lines = [describe_saturation(report)]
    else:
        from streamrec.pipeline.loadtest_clock import run_clock_loadtest

        clock_report, json_path, png_path = run_clock_loadtest(
            settings, plan, args.consumers, out_dir, console, args.window_seconds
        )
        summary = clock_report.to_json()
        lines = clock_summary(summary)
    if "timings_s" in summary:
        lines.append(timings_line(summary) + " (before writing the report)")
    lines.append(f"report {json_path}, plots {png_path} and {summary['over_time_png']}")
    render.print_lines(lines, console)
    if args.json:
        print(json.dumps(summary))
    return EXIT_OK
