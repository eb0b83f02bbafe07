"""``compare --refresh`` and ``evaluate --refresh``: models that learn from the stream, scored
prequentially (``prequential.evaluate_stream``) under each refresh policy.

Each model starts from the training part (``StreamLog.initial_log``): count models (their
update is ``exact``) rebuild their tables from its clicks; other architectures are trained on
it first (``train_model``) and start from their checkpoint. An architecture without a learner
can only be scored frozen (``never``); asking it for another refresh is an error naming the
architectures that can update.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console

from streamrec.config import ConfigError, Settings
from streamrec.model.data.clicklog import log_corpus
from streamrec.model.data.stream_log import StreamLog, load_stream_log, part_figures
from streamrec.model.evaluation.prequential import (
    Predictions,
    PrequentialResult,
    evaluate_stream,
)
from streamrec.model.training.workflow import train_model
from streamrec.model.zoo import ARCHITECTURES, architecture, learner_for, load_model, updatable
from streamrec.model.zoo.updates import Catalog, LearnerStart, UpdateReport
from streamrec.progress import ProgressBoard
from streamrec.refresh import refresh_label


@dataclass(frozen=True)
class StreamPlan:
    """How models are scored on the stream: refresh periods (seconds, None: never), which
    time picks a prediction's version, what the test part keeps, what version 0 learns."""

    refreshes: tuple[float | None, ...]
    version_time: str = "target"
    new_items: str = "keep"
    history: str = "strict"
    budget_s: float | None = None


class FrozenLearner:
    """A trained model that cannot update: it serves version 0 for ever (``never`` only)."""

    update_kind = "frozen"

    def __init__(self, model: Any, catalog: Catalog) -> None:
        self.model = model
        self._catalog = catalog

    @property
    def architecture(self) -> str:
        """The model's zoo name."""
        return str(self.model.architecture)

    @property
    def catalog(self) -> Catalog:
        """The trained model's catalog."""
        return self._catalog

    def learn(self, batch: Any) -> None:
        """Frozen: nothing is learned (never called under ``never``)."""
        raise ValueError(f"{self.architecture} cannot learn from the stream")

    def publish(self, budget_s: float | None = None) -> tuple[Any, UpdateReport]:
        """The trained model."""
        return self.model, UpdateReport(0.0, 0, 0, len(self._catalog), self.update_kind)

    def state(self) -> dict[str, Any]:
        """Nothing to resume."""
        return {}

    def restore(self, state: dict[str, Any]) -> None:
        """Nothing to restore."""


def check_updatable(names: list[str], plan: StreamPlan) -> None:
    """``ConfigError`` for a name that is no architecture (the generated-data baselines have
    no click times), or when a refresh other than never is asked of an architecture that
    cannot update (naming those that can)."""
    others = [n for n in names if n not in ARCHITECTURES]
    if others:
        raise ConfigError(
            f"{', '.join(others)} cannot be scored on a stream (generated data only); "
            f"choose from {', '.join(ARCHITECTURES)}"
        )
    frozen = [n for n in names if ARCHITECTURES[n].learner is None]
    if frozen and any(r is not None for r in plan.refreshes):
        raise ConfigError(
            f"{', '.join(frozen)} cannot learn from the stream yet (score it with --refresh "
            f"never); these can: {', '.join(updatable())}"
        )


def start_learner(
    name: str, settings: Settings, log: StreamLog, out_dir: Path, console: Console
) -> Any:
    """``name``'s learner on ``log``'s training part (trained first unless it is a count
    model), or a ``FrozenLearner`` for an architecture that cannot update."""
    entry = architecture(name)
    history = log.history()
    if entry.update_kind == "exact":
        return learner_for(name, LearnerStart(None, log.catalog(), history, settings))
    corpus = log_corpus(log.initial_log())
    out = out_dir / f"{name}.pt"
    train_settings = settings.with_overrides(
        {"architecture": name, "split": "none", "validation_csv": ""}
    )
    train_model(train_settings, out, console, corpus=corpus)
    model, meta = load_model(out)
    catalog = Catalog(np.asarray(meta.item_ids or [], dtype=np.int64))
    if entry.learner is None:
        return FrozenLearner(model, catalog)
    return learner_for(name, LearnerStart(model, catalog, history, settings))


def compare_on_stream(
    settings: Settings,
    names: list[str],
    plan: StreamPlan,
    out_dir: Path,
    console: Console,
    show_progress: bool = True,
) -> tuple[list[PrequentialResult], dict[str, Any]]:
    """Every model of ``names`` under every refresh of ``plan``: rows in (model, refresh)
    order, and what they were measured on (``context``: parts, t0, plan)."""
    check_updatable(names, plan)
    log = load_stream_log(settings, plan.new_items, plan.history)
    predictions, stream = Predictions.of(log.test), log.stream()
    context = stream_context(log, plan)
    recency = [n for n in names if n.startswith("recent-")]
    if recency and plan.history == "whole":
        console.print(
            f"note: {', '.join(recency)} weigh clicks by age, and --history whole learns the "
            "training sessions' clicks after t0 up front (days ahead for some): their version 0 "
            "looks from the future; use --history strict (the default) for them",
            markup=False,
        )
    console.print(
        f"stream: {context['parts']['test']['predictions']:,} predictions, "
        f"{len(stream):,} clicks to learn after t0; version time: {plan.version_time}",
        markup=False,
        highlight=False,
    )
    rows: list[PrequentialResult] = []
    with ProgressBoard(console, enabled=show_progress) as board:
        for name in names:
            started = time.perf_counter()
            learner = start_learner(name, settings, log, out_dir, console)
            board.note(f"== {name}: version 0 in {time.perf_counter() - started:.1f}s")
            for refresh in plan.refreshes:
                task = board.add(f"{name} {refresh_label(refresh)}", len(predictions))
                progress = partial(board.update, task)
                rows.append(
                    evaluate_stream(
                        learner,
                        stream,
                        predictions,
                        refresh,
                        plan.version_time,
                        settings.max_len,
                        plan.budget_s,
                        on_progress=progress,
                    )
                )
                board.done(task)
                board.note(row_line(rows[-1]))
    return rows, context


def stream_context(log: StreamLog, plan: StreamPlan) -> dict[str, Any]:
    """What a run was measured on: the parts' figures, t0, the plan."""
    return {
        "source": log.source,
        "t0": log.t0(),
        "version_time": plan.version_time,
        "new_items": plan.new_items,
        "history": plan.history,
        "parts": {
            "train": part_figures(log.train),
            "initial": part_figures(log.initial_log()),
            "test": part_figures(log.test),
        },
    }


def row_line(row: PrequentialResult) -> str:
    """One row as a progress line."""
    update = (
        f", update mean {row.update_seconds_mean:.3f}s max {row.update_seconds_max:.3f}s"
        if row.update_seconds_mean is not None
        else ""
    )
    return (
        f"   {row.model} refresh {row.refresh}: Hit@10 {row.hit_at_10:.4f} Hit@20 "
        f"{row.hit_at_20:.4f} MRR@20 {row.mrr_at_20:.4f}; {row.versions} versions{update}; "
        f"{row.unknown_targets:,} unknown targets"
    )


def evaluate_on_stream(
    settings: Settings,
    plan: StreamPlan,
    model_path: Path | None = None,
    baseline: str | None = None,
) -> tuple[PrequentialResult, dict[str, Any]]:
    """``evaluate --refresh``: a checkpoint (starting from its weights and catalog) or a count
    baseline (``markov``, ``popularity``) under one refresh period of ``plan``."""
    log = load_stream_log(settings, plan.new_items, plan.history)
    if model_path is not None:
        model, meta = load_model(model_path)
        check_updatable([meta.architecture], plan)
        catalog = Catalog(np.asarray(meta.item_ids or [], dtype=np.int64))
        start = LearnerStart(model, catalog, log.history(), settings)
        entry = architecture(meta.architecture)
        learner: Any = (
            learner_for(meta.architecture, start)
            if entry.learner is not None
            else FrozenLearner(model, catalog)
        )
    else:
        name = baseline or ""
        check_updatable([name], plan)
        learner = learner_for(name, LearnerStart(None, log.catalog(), log.history(), settings))
    result = evaluate_stream(
        learner, log.stream(), Predictions.of(log.test), plan.refreshes[0],
        plan.version_time, settings.max_len, plan.budget_s,
    )  # fmt: skip
    return result, stream_context(log, plan)
