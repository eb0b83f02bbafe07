"""Offline commands: ``generate``, ``train``, ``evaluate``, ``compare``, ``explain``."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

from streamrec.cli import render
from streamrec.cli.exits import EXIT_OK
from streamrec.cli.validators import writable_folder
from streamrec.config import Settings


def generate(args: argparse.Namespace, settings: Settings) -> int:
    """Write generated sessions (``settings.generator``'s mode) as JSON Lines, drawn and
    written one user at a time (memory does not grow with ``--users``)."""
    from rich.console import Console

    from streamrec.model.data.generator import GeneratorParams
    from streamrec.model.data.session_file import write_generated
    from streamrec.progress import ProgressBoard

    if args.out != "-":
        writable_folder(Path(args.out).parent, "--out")
    params = GeneratorParams(
        n_users=settings.users, n_items=settings.items, seed=settings.seed,
        mode=settings.generator, scenario=settings.scenario, drift_at=settings.drift_at,
    )  # fmt: skip
    out = sys.stdout if args.out == "-" else open(args.out, "w", encoding="utf-8")  # noqa: SIM115
    show = args.out != "-" and not args.no_progress
    try:
        with ProgressBoard(Console(stderr=True), enabled=show) as board:
            task = board.add("generating", settings.users)
            written = write_generated(
                params, out, lambda users, n: board.update(task, users, info=f"{n:,} sessions")
            )
    finally:
        if out is not sys.stdout:
            out.close()
    if args.out != "-":
        print(f"wrote {written:,} sessions to {args.out}", file=sys.stderr)
    return EXIT_OK


def train(args: argparse.Namespace, settings: Settings) -> int:
    """Train with the seed's recipe and write the checkpoint, history and curves."""
    from streamrec.model.training.workflow import train_model

    out = args.out or settings.model_path
    if args.skip_if_exists and out.is_file():
        print(f"{out} exists; nothing to do")
        return EXIT_OK
    writable_folder(out.parent, "--out")  # before training, not after it
    result = train_model(settings, out, show_progress=not args.no_progress)
    last = result.history[-1]
    figures = (
        "no validation figures (--split none without --validation-csv)"
        if math.isnan(last.hit_at_10)
        else f"Hit@10 {last.hit_at_10:.4f} Hit@20 {last.hit_at_20:.4f} MRR@20 {last.mrr_at_20:.4f}"
    )
    print(
        f"saved {result.checkpoint} ({result.n_parameters:,} parameters); {figures}; "
        f"history {result.history_path}, curves {result.plot_path}"
    )
    return EXIT_OK


def _stream_plan(args: argparse.Namespace, settings: Settings, refreshes: list[Any]) -> Any:
    """The prequential plan of ``--refresh`` and its companion flags."""
    from streamrec.model.evaluation.prequential_run import StreamPlan

    return StreamPlan(
        tuple(refreshes), args.version_time, args.new_items, args.history,
        settings.update_budget_s or None,
    )  # fmt: skip


def evaluate(args: argparse.Namespace, settings: Settings) -> int:
    """Evaluate a checkpoint or a baseline on the validation side of the split (with
    ``--refresh``: prequentially, learning from the test part's stream)."""
    from streamrec.model.evaluation.workflow import evaluate_named

    if args.refresh is not None:
        return _evaluate_on_stream(args, settings)

    report = evaluate_named(settings, model_path=args.model, baseline=args.baseline)
    dropped = report["dropped_unknown_clicks"]
    heading = (
        f"{report['scorer']} on {report['source']}, split={report['split']}: "
        f"{report['n_examples']:,} predictions in {report['n_sessions']:,} sessions"
        + (f" ({dropped:,} clicks on items outside the catalog removed first)" if dropped else "")
    )
    render.metrics_report(report, heading, args.json)
    return EXIT_OK


def _evaluate_on_stream(args: argparse.Namespace, settings: Settings) -> int:
    from dataclasses import asdict

    from streamrec.model.evaluation.prequential_run import evaluate_on_stream, row_line

    if settings.train_csv:
        settings = settings.with_overrides(
            {"csv_path": settings.train_csv, "split": "none", "validation_csv": settings.csv_path}
        )
    plan = _stream_plan(args, settings, args.refresh)
    row, context = evaluate_on_stream(settings, plan, args.model, args.baseline)
    if args.json:
        print(json.dumps({**asdict(row), **context}))
    else:
        print(f"prequential evaluation on {context['source']}:")
        print(row_line(row).strip())
    return EXIT_OK


def _compare_on_stream(args: argparse.Namespace, settings: Settings) -> int:
    from rich.console import Console

    from streamrec.model.evaluation.prequential_report import (
        markdown_table,
        prequential_json,
        write_outputs,
    )
    from streamrec.model.evaluation.prequential_run import compare_on_stream

    out_dir = args.out_dir or settings.artifacts / "compare"
    console = Console(stderr=True, soft_wrap=True)
    plan = _stream_plan(args, settings, args.refresh)
    rows, context = compare_on_stream(
        settings, args.models, plan, out_dir, console, not args.no_progress
    )
    paths = write_outputs(rows, context, out_dir)
    console.print(markdown_table(rows), markup=False, highlight=False)
    console.print(f"results: {', '.join(map(str, paths))}", markup=False, highlight=False)
    if args.json:
        print(json.dumps(prequential_json(rows, context)))
    return EXIT_OK


def compare(args: argparse.Namespace, settings: Settings) -> int:
    """Train and evaluate several models on the same data; table, JSON and PNG (with
    ``--refresh``: prequentially, each model learning from the test part's stream)."""
    from rich.console import Console

    from streamrec.model.evaluation.compare import (
        compare_models,
        comparison_json,
        markdown_table,
        write_outputs,
    )

    if args.test_csv:
        settings = settings.with_overrides({"validation_csv": args.test_csv, "split": "none"})
    if args.refresh is not None:
        return _compare_on_stream(args, settings)
    out_dir = args.out_dir or settings.artifacts / "compare"
    writable_folder(out_dir, "--out-dir")
    console = Console(stderr=True, soft_wrap=True)
    rows, data = compare_models(settings, args.models, out_dir, console)
    json_path, md_path, png_path = write_outputs(rows, data, out_dir)
    console.print(markdown_table(rows), markup=False, highlight=False)
    console.print(f"results: {json_path}, {md_path}, {png_path}", markup=False, highlight=False)
    if args.json:
        print(json.dumps(comparison_json(rows, data)))
    return EXIT_OK


def explain(args: argparse.Namespace, settings: Settings) -> int:
    """Measure a checkpoint's attention by position, behaviour and length; JSON, PNG, table."""
    from rich.console import Console

    from streamrec.model.explain.report import explanation_json, table_lines, write_outputs
    from streamrec.model.explain.workflow import explain_model
    from streamrec.progress import ProgressBoard

    out_dir = args.out_dir or settings.artifacts / "explain"
    writable_folder(out_dir, "--out-dir")
    console = Console(stderr=True, soft_wrap=True)
    with ProgressBoard(console, enabled=not args.no_progress, transient=True) as board:
        explanation = explain_model(settings, args.model, board)
    json_path, png_path = write_outputs(explanation, out_dir)
    render.print_lines(table_lines(explanation), console if args.json else None)
    console.print(f"results: {json_path}, {png_path}", markup=False, highlight=False)
    if args.json:
        print(json.dumps(explanation_json(explanation)))
    return EXIT_OK
