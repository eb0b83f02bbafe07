"""What ``compare --refresh`` writes: ``prequential.json``, ``prequential.md`` (a Markdown
table) and ``prequential.png`` (Hit@20 per model and refresh policy; Hit@20 per hour of the
test day, each model frozen beside its most frequent refresh)."""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from streamrec.model.evaluation.prequential import HOURS, PrequentialResult
from streamrec.refresh import parse_refresh

MIN_HOUR_PREDICTIONS = 20  # fewer in an hour: too noisy to draw


def prequential_json(rows: list[PrequentialResult], context: dict[str, Any]) -> dict[str, Any]:
    """The ``--json`` object: one row per (model, refresh) and what they were measured on."""
    return {"rows": [asdict(r) for r in rows], **context}


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def markdown_table(rows: list[PrequentialResult]) -> str:
    """One line per (model, refresh): the figures, versions, update seconds, unknown targets;
    the best Hit@20 in bold."""
    best = max(r.hit_at_20 for r in rows)
    lines = [
        "| model | refresh | Hit@10 | Hit@20 | MRR@20 | versions | update s (mean / max) | "
        "unknown targets | predictions |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        hit20 = f"**{r.hit_at_20:.4f}**" if r.hit_at_20 == best else f"{r.hit_at_20:.4f}"
        lines.append(
            f"| {r.model} | {r.refresh} | {r.hit_at_10:.4f} | {hit20} | {r.mrr_at_20:.4f} | "
            f"{r.versions:,} | {_seconds(r.update_seconds_mean)} / "
            f"{_seconds(r.update_seconds_max)} | {r.unknown_targets:,} | {r.predictions:,} |"
        )
    return "\n".join(lines) + "\n"


def heading(context: dict[str, Any]) -> str:
    """What the table was measured on, in one paragraph."""
    test = context["parts"]["test"]
    t0 = datetime.fromtimestamp(context["t0"], UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return (
        f"Prequential evaluation on {context['source']}: {test['predictions']:,} "
        f"predictions in {test['sessions']:,} test sessions; t0 {t0}; a prediction is "
        f"served by the version of its {context['version_time']} time.\n"
    )


def write_outputs(
    rows: list[PrequentialResult], context: dict[str, Any], out_dir: Path
) -> tuple[Path, Path, Path]:
    """``prequential.json``, ``prequential.md`` and ``prequential.png`` in ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = tuple(out_dir / f"prequential.{ext}" for ext in ("json", "md", "png"))
    paths[0].write_text(json.dumps(prequential_json(rows, context), indent=2))
    paths[1].write_text(heading(context) + "\n" + markdown_table(rows))
    plot(rows, context, paths[2])
    return paths[0], paths[1], paths[2]


def plot(rows: list[PrequentialResult], context: dict[str, Any], path: Path) -> None:
    """Two panels: Hit@20 per model and refresh (bars); Hit@20 per UTC hour of the test day,
    each model frozen (dashed) and at its most frequent refresh (solid)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    models = list(dict.fromkeys(r.model for r in rows))
    refreshes = list(dict.fromkeys(r.refresh for r in rows))
    fig, (bars, hours) = plt.subplots(1, 2, figsize=(13, 4.8))
    width = 0.8 / len(refreshes)
    for k, refresh in enumerate(refreshes):
        xs, ys = [], []
        for i, model in enumerate(models):
            row = next((r for r in rows if r.model == model and r.refresh == refresh), None)
            if row is not None:
                xs.append(i + (k - (len(refreshes) - 1) / 2) * width)
                ys.append(row.hit_at_20)
        bars.bar(xs, ys, width, label=f"refresh {refresh}")
    bars.set_xticks(range(len(models)), models, rotation=20)
    bars.set_ylabel("Hit@20 over the test part (share of predictions)")
    bars.set_title("Hit@20 per model and refresh policy", fontsize=10)
    bars.legend(fontsize=8)
    bars.grid(axis="y", alpha=0.3)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, model in enumerate(models):
        own = [r for r in rows if r.model == model]
        frozen = next((r for r in own if r.refresh == "never"), None)
        refreshed = [r for r in own if r.refresh != "never"]
        colour = colours[i % len(colours)]
        if frozen is not None:
            hours.plot(range(HOURS), _hourly(frozen), "--", color=colour, label=f"{model} never")
        if refreshed:
            fastest = min(refreshed, key=_period)
            hours.plot(
                range(HOURS), _hourly(fastest), "-", color=colour,
                label=f"{model} refresh {fastest.refresh}",
            )  # fmt: skip
    day = datetime.fromtimestamp(context["t0"], UTC).strftime("%Y-%m-%d")
    hours.set_xlabel(f"hour of the test day {day} (UTC) of the predicted click")
    hours.set_ylabel(f"Hit@20 of that hour's predictions (hours with >= {MIN_HOUR_PREDICTIONS})")
    hours.set_title("Hit@20 per hour: frozen (dashed) and refreshed (solid)", fontsize=10)
    hours.set_xlim(0, HOURS - 1)
    hours.legend(fontsize=7, ncol=2, loc="lower center")
    hours.grid(alpha=0.3)
    fig.suptitle(f"Prequential evaluation: {context['source']}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _hourly(row: PrequentialResult) -> list[float]:
    """Hit@20 per hour; hours with fewer than ``MIN_HOUR_PREDICTIONS`` are left out."""
    return [
        math.nan if v is None or n < MIN_HOUR_PREDICTIONS else v
        for v, n in zip(row.hourly_hit_at_20, row.hourly_predictions, strict=True)
    ]


def _period(row: PrequentialResult) -> float:
    """Seconds of a row's refresh period, to find the most frequent refresh."""
    return parse_refresh(row.refresh) or math.inf
