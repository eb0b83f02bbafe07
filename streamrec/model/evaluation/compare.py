"""``streamrec compare``: several models trained and evaluated on the same data and protocol.

Each listed architecture is trained with ``train_model`` (its checkpoint, history and curves
land in the output folder) and scored on the same held-out prefixes; on generated data the
``oracle`` (the Bayes-optimal scorer, from the generator's hidden state) and
``category-popularity`` (which needs the generator's item categories) can be listed too;
with an oracle row, each row's Hit@10 is also given as a share of the oracle's.
Per model: Hit@10, Hit@20, MRR@20, coverage@20 (the share of the catalog that appears in
some top-20), learned parameters, training seconds and offline scoring events per second;
under a drift scenario also the figures before and after the moment (``phases``).
Results go to ``compare.json``, ``compare.md`` and ``compare.png``.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from rich.console import Console

from streamrec.config import Settings
from streamrec.model.data.loading import PreparedData, prepare_data
from streamrec.model.evaluation.baselines import make_baseline
from streamrec.model.evaluation.evaluate import evaluate
from streamrec.model.evaluation.phases import PHASE_NAMES, has_phases, phase_reports
from streamrec.model.evaluation.ranking import TOP_K
from streamrec.model.scoring import Scorer
from streamrec.model.training.workflow import train_model
from streamrec.model.zoo import load_model
from streamrec.plotting import legend_outside, new_figure, save, title

if TYPE_CHECKING:
    from matplotlib.figure import Figure

ORACLE = "oracle"
# not trained: fitted from the training examples of generated data
GENERATED_BASELINES = (ORACLE, "category-popularity")


@dataclass
class ComparisonRow:
    """One model's figures."""

    model: str
    hit_at_10: float
    hit_at_20: float
    mrr_at_20: float
    coverage_at_20: float
    n_examples: int
    train_seconds: float
    params: int
    scoring_events_per_s: float
    # under a drift scenario: Hit@10, Hit@20, MRR@20, n_examples before and after the moment
    phases: dict[str, dict[str, float]] | None = None


def compare_models(
    settings: Settings, names: list[str], out_dir: Path, console: Console
) -> tuple[list[ComparisonRow], PreparedData]:
    """Train and evaluate each of ``names`` on ``settings``' data; rows in the given order.

    ``validation_sample`` only shortens the per-epoch validation of the trained models: the
    comparison itself always scores every held-out prefix."""
    data = prepare_data(settings.with_overrides({"validation_sample": 0}))
    if not len(data.val):
        raise ValueError("nothing to compare on: the split holds nothing out (give a test log)")
    rows = []
    for name in names:
        console.print(f"== {name}")
        if name in GENERATED_BASELINES:
            started = time.perf_counter()
            scorer: Scorer = make_baseline(name, data.corpus, data.train)
            train_s = time.perf_counter() - started
            params = 0 if name == ORACLE else data.corpus.n_items  # its count table
        else:
            started = time.perf_counter()
            out = out_dir / f"{name}.pt"
            result = train_model(settings.with_overrides({"architecture": name}), out, console)
            train_s = time.perf_counter() - started
            model, _ = load_model(out)
            scorer, params = model.scorer(), result.n_parameters
        rows.append(_score(name, scorer, data, train_s, params))
        row = rows[-1]
        by_phase = (
            "  Hit@10 before/after the drift "
            + " / ".join(f"{row.phases[p]['hit_at_10']:.4f}" for p in PHASE_NAMES)
            if row.phases
            else ""
        )
        console.print(
            f"   Hit@10 {row.hit_at_10:.4f}  Hit@20 {row.hit_at_20:.4f}  "
            f"MRR@20 {row.mrr_at_20:.4f}  coverage@20 {row.coverage_at_20:.3f}{by_phase}"
        )
    return rows, data


def _score(
    name: str, scorer: Scorer, data: PreparedData, train_s: float, params: int
) -> ComparisonRow:
    recommended = torch.zeros(data.corpus.n_items, dtype=torch.bool)

    def note_top_k(scores: torch.Tensor, _targets: torch.Tensor) -> None:
        recommended[scores.topk(TOP_K, dim=1).indices.flatten().cpu()] = True

    started = time.perf_counter()
    totals = evaluate(scorer, data.val, data.corpus.behaviors, on_batch=note_top_k)
    seconds = time.perf_counter() - started
    figures = totals.total.metrics()
    phases = None
    if has_phases(data.corpus):
        reports = phase_reports(scorer, data.val, data.corpus)
        phases = {
            p: {k: v for k, v in r.items() if k != "per_behavior"} for p, r in reports.items()
        }
    return ComparisonRow(
        model=name,
        hit_at_10=figures["hit_at_10"],
        hit_at_20=figures["hit_at_20"],
        mrr_at_20=figures["mrr_at_20"],
        coverage_at_20=float(recommended.float().mean()),
        n_examples=int(figures["n_examples"]),
        train_seconds=round(train_s, 2),
        params=params,
        scoring_events_per_s=round(len(data.val) / seconds, 1) if seconds > 0 else 0.0,
        phases=phases,
    )


def comparison_json(rows: list[ComparisonRow], data: PreparedData) -> dict[str, Any]:
    """The ``--json`` object: the rows and what they were measured on."""
    report: dict[str, Any] = {
        "rows": [asdict(r) for r in rows],
        "source": data.corpus.source,
        "n_items": data.corpus.n_items,
        "n_train_examples": len(data.train),
    }
    ratios = oracle_ratios(rows)
    if ratios:
        report["hit_at_10_to_oracle"] = ratios
    return report


def oracle_ratios(rows: list[ComparisonRow]) -> dict[str, float]:
    """Each model's Hit@10 divided by the oracle's (empty without an oracle row)."""
    oracle = next((r for r in rows if r.model == ORACLE), None)
    if oracle is None or oracle.hit_at_10 <= 0:
        return {}
    return {r.model: round(r.hit_at_10 / oracle.hit_at_10, 4) for r in rows}


def markdown_table(rows: list[ComparisonRow]) -> str:
    """The rows as a Markdown table, best Hit@20 in bold; with an oracle row, a column of
    each Hit@10 as a share of the oracle's; under a drift scenario, columns of Hit@10 before
    and after the moment."""
    best = max(r.hit_at_20 for r in rows)
    ratios = oracle_ratios(rows)
    drift = all(r.phases for r in rows)
    extra = (" Hit@10 / oracle |", "---|") if ratios else ("", "")
    if drift:
        extra = (extra[0] + " Hit@10 before | Hit@10 after |", extra[1] + "---|---|")
    lines = [
        "| model | Hit@10 |" + extra[0] + " Hit@20 | MRR@20 | coverage@20 | parameters | "
        "train s | scoring ev/s |",
        "|---|---|" + extra[1] + "---|---|---|---|---|---|",
    ]
    for r in rows:
        hit20 = f"**{r.hit_at_20:.4f}**" if r.hit_at_20 == best else f"{r.hit_at_20:.4f}"
        middle = f" {ratios[r.model]:.3f} |" if ratios else ""
        if drift and r.phases:
            middle += "".join(f" {r.phases[p]['hit_at_10']:.4f} |" for p in PHASE_NAMES)
        lines.append(
            f"| {r.model} | {r.hit_at_10:.4f} |{middle} {hit20} | {r.mrr_at_20:.4f} | "
            f"{r.coverage_at_20:.3f} | {r.params:,} | {r.train_seconds:.1f} | "
            f"{r.scoring_events_per_s:,.0f} |"
        )
    return "\n".join(lines) + "\n"


def write_outputs(
    rows: list[ComparisonRow], data: PreparedData, out_dir: Path
) -> tuple[Path, Path, Path]:
    """``compare.json``, ``compare.md`` and ``compare.png`` in ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, md_path, png_path = (out_dir / f"compare.{ext}" for ext in ("json", "md", "png"))
    json_path.write_text(json.dumps(comparison_json(rows, data), indent=2))
    md_path.write_text(f"Models on {data.corpus.source}\n\n" + markdown_table(rows))
    _plot(rows, data.corpus.source, png_path)
    return json_path, md_path, png_path


def comparison_figure(rows: list[ComparisonRow], source: str) -> Figure:
    """Hit@10, Hit@20 and MRR@20 of every model on the same held-out prefixes, one group of
    bars per model; the oracle's bars (generated data), a reference, hatched."""
    metrics = (("hit_at_10", "Hit@10"), ("hit_at_20", "Hit@20"), ("mrr_at_20", "MRR@20"))
    fig, ax = new_figure(figsize=(max(7.0, 1.4 * len(rows) + 3), 4.4))
    width = 0.8 / len(metrics)
    for k, (key, label) in enumerate(metrics):
        xs = [i + (k - 1) * width for i in range(len(rows))]
        bars = ax.bar(xs, [getattr(r, key) for r in rows], width, label=label)
        for bar, row in zip(bars, rows):
            if row.model == ORACLE:
                bar.set_hatch("//")
    ax.set_xticks(range(len(rows)), [r.model for r in rows])
    ax.set_xlabel("model (oracle: the generator's Bayes-optimal scorer, a reference)"
                  if any(r.model == ORACLE for r in rows) else "model")  # fmt: skip
    ax.set_ylabel("held-out metric, full ranking\n(Hit: fraction; MRR: mean reciprocal rank)")
    ax.set_ylim(bottom=0)
    ax.grid(axis="y", alpha=0.3)
    legend_outside(ax)
    n = rows[0].n_examples if rows else 0
    title(fig, f"StreamRec compare: Hit@10, Hit@20 and MRR@20 by model on {n:,} held-out "
               f"prefixes of {source}")  # fmt: skip
    return fig


def _plot(rows: list[ComparisonRow], source: str, path: Path) -> None:
    save(comparison_figure(rows, source), path)
