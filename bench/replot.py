"""Redraw stored results' figures from their JSON, without running anything again.

    python bench/replot.py PATH.json [PATH.json ...]

Each JSON is recognised by its shape, and its figure written beside it:
- a load test's ``loadtest.json``: ``loadtest.png`` (steps against the offered rate, or a
  clock run's windows over time) and, when it has windows, ``online-over-time.png``;
- a scale-out's ``scaleout.json``: ``scaleout.png``;
- a training history ``NAME.history.json``: ``NAME.curves.png`` (a history written before
  the model zoo, without ``architecture``, is lstm-attn's);
- a comparison ``NAME.json`` with ``rows`` and ``source``: ``NAME.png``.
Prints the path of each figure written; a JSON of another shape ends in one
``replot: error:`` line and exit 2.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from streamrec.contract.names import PRIMARY
from streamrec.model.evaluation.compare import ComparisonRow, comparison_figure
from streamrec.model.training.plots import training_curves_figure
from streamrec.model.training.trainer import EpochRecord
from streamrec.pipeline.load_plots import LOAD_AXIS, clock_run_figure
from streamrec.pipeline.load_windows import LoadWindow
from streamrec.pipeline.loadtest import LoadTestReport, StepResult, report_figure
from streamrec.pipeline.oracle_line import flat_line
from streamrec.pipeline.overtime_plot import over_time_figure
from streamrec.pipeline.scaleout import ScaleoutRow, scaleout_figure
from streamrec.plotting import save

EXIT_USAGE = 2
REPORT_KEYS = ("saturation_events_per_s", "backend", "consumers", "model", "steps")


def loadtest(data: dict[str, Any], path: Path) -> list[Path]:
    """``loadtest.png`` and, with windows, ``online-over-time.png`` beside ``path``."""
    window_s = float(data.get("window_s") or 0.0) or None
    windows = [LoadWindow.from_json(row, window_s) for row in data.get("windows", [])]
    consumers = int(data.get("consumers", 1))
    out = [path.with_name("loadtest.png")]
    if data.get("mode") == "clock":
        end = data["clock_started_s"] + data["duration_s"] if "clock_started_s" in data else None
        heading = f"StreamRec load test, {consumers} consumer(s): {data['clock']}"
        save(clock_run_figure(windows, heading, end), out[0])
    else:
        steps = [StepResult(**step) for step in data["steps"]]
        report = LoadTestReport(
            steps=steps,
            saturation_events_per_s=data["saturation_events_per_s"],
            saturation_is_lower_bound=data.get(
                "saturation_is_lower_bound", all(s.keeps_up for s in steps)
            ),
            backend=data["backend"],
            consumers=consumers,
            model=data["model"],
            extra={k: v for k, v in data.items() if k not in REPORT_KEYS},
        )
        save(report_figure(report), out[0])
    if windows:
        online = [w.online for w in windows]
        oracle = flat_line(data.get("oracle_hit_at_10"), online[-1].end_s)
        heading = (
            f"StreamRec load test, {consumers} consumer(s): online Hit@10, MRR@20 and "
            "evaluations/s per window"
        )
        figure = over_time_figure({PRIMARY: online}, heading, oracle, xlabel=LOAD_AXIS)
        out.append(save(figure, path.with_name("online-over-time.png")))
    return out


def scaleout(data: dict[str, Any], path: Path) -> list[Path]:
    """``scaleout.png`` beside ``path``."""
    rows = [ScaleoutRow(**row) for row in data["rows"]]
    return [save(scaleout_figure(rows), path.with_name("scaleout.png"))]


def history(data: dict[str, Any], path: Path) -> list[Path]:
    """``NAME.curves.png`` beside ``NAME.history.json``."""
    nan = float("nan")  # a loss the history stored as null: none (a count model's)
    epochs: list[dict[str, Any]] = [
        {k: nan if v is None else v for k, v in epoch.items()} for epoch in data["epochs"]
    ]
    records = [EpochRecord(**epoch) for epoch in epochs]
    name = path.name.removesuffix(".history.json")
    heading = (
        f"{name}: {data.get('architecture', 'lstm-attn')} on {data['source']}, "
        f"split={data['split']}, {data['n_train']:,} train / {data['n_val']:,} validation "
        "examples"
    )
    return [
        save(training_curves_figure(records, heading=heading), path.with_name(f"{name}.curves.png"))
    ]


def comparison(data: dict[str, Any], path: Path) -> list[Path]:
    """``NAME.png`` beside ``NAME.json``."""
    rows = [ComparisonRow(**row) for row in data["rows"]]
    return [save(comparison_figure(rows, data["source"]), path.with_suffix(".png"))]


def kind(data: Any, path: Path) -> Callable[[dict[str, Any], Path], list[Path]] | None:
    """The redrawing function for a JSON of this shape (None: not one this knows)."""
    if not isinstance(data, dict):
        return None
    if path.name.endswith(".history.json") and "epochs" in data:
        return history
    if "steps" in data or data.get("mode") == "clock":
        return loadtest
    if "rows" in data and "efficiency" in data:
        return scaleout
    if "rows" in data and "source" in data:
        return comparison
    return None


def main(argv: list[str]) -> int:
    """Redraw each JSON's figure; see the module docstring."""
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if argv else EXIT_USAGE
    for name in argv:
        path = Path(name)
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            print(f"replot: error: {path}: {exc}", file=sys.stderr)
            return EXIT_USAGE
        redraw = kind(data, path)
        if redraw is None:
            print(f"replot: error: {path}: not a result this script can redraw", file=sys.stderr)
            return EXIT_USAGE
        for written in redraw(data, path):
            print(written)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
