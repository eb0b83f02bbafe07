"""``streamrec evaluate``: a checkpoint or a baseline on the validation side of a split."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from streamrec.config import ConfigError, Settings
from streamrec.model.checkpoint import CheckpointError, CheckpointMeta
from streamrec.model.data.corpus import SessionCorpus, generator_of
from streamrec.model.data.examples import PrefixExamples
from streamrec.model.data.loading import PreparedData, prepare_data
from streamrec.model.evaluation.baselines import make_baseline
from streamrec.model.evaluation.evaluate import evaluate
from streamrec.model.evaluation.phases import has_phases, phase_reports
from streamrec.model.retrieval.scorer import (
    RetrievalScorer,
    recall_against_exact,
    retrieval_scorer,
)
from streamrec.model.runtime import configure_torch
from streamrec.model.scoring import Scorer
from streamrec.model.zoo import load_model
from streamrec.model.zoo.base import SessionModel


def evaluate_named(
    settings: Settings,
    model_path: Path | None = None,
    baseline: str | None = None,
    corpus: SessionCorpus | None = None,
) -> dict[str, Any]:
    """Evaluate a checkpoint or a baseline on the held-out side of ``settings.split``, or on
    every session of the log with ``split == 'none'``.

    A checkpoint's own catalog maps the log's item ids (clicks on items outside it are
    removed first and counted). Baselines are fitted on the training side, or on
    ``settings.train_csv`` when given (and score the ``--from-csv`` log). Under a drift
    scenario the report also has ``phases``: the report on the sessions drawn before the
    moment and on those after it.
    """
    configure_torch(settings.threads, "cpu")
    started = time.perf_counter()
    scorer: Scorer
    if model_path is not None:
        model, meta, data = model_and_data(settings, model_path, corpus)
        scorer = model.scorer()
        if settings.retrieval == "ann":
            scorer = retrieval_scorer(scorer, settings.candidates, model_path, settings.ann_probes)
        name = f"model:{model_path} ({meta.architecture})"
        trained_on = generator_of(meta.source)
        if trained_on is not None and trained_on != settings.generator:
            name += f" (trained on generator={trained_on})"
        if meta.split != settings.split or meta.seed != settings.seed:
            name += f" (trained with split={meta.split}, seed={meta.seed})"
    elif baseline is not None:
        if settings.train_csv:
            settings = settings.with_overrides(
                {
                    "csv_path": settings.train_csv,
                    "split": "none",
                    "validation_csv": settings.csv_path,
                }
            )
        data = prepare_data(settings, corpus)
        scorer = make_baseline(baseline, data.corpus, data.train)
        name = f"baseline:{baseline}"
    else:
        raise ValueError("give a model path or a baseline name")
    scored = held_out(settings, data)
    report = evaluate(scorer, scored, data.corpus.behaviors).report()
    if isinstance(scorer, RetrievalScorer):
        batches = [scored.subset(np.arange(i, min(i + 1024, len(scored))))
                   for i in range(0, len(scored), 1024)]  # fmt: skip
        report["retrieval"] = {
            "mode": "ann",
            "candidates": scorer.ranker.candidates,
            "lists_scanned": scorer.ranker.index.nprobe,
            "lists": scorer.ranker.index.lists,
            "ann_recall_at_20": round(recall_against_exact(scorer, batches), 4),
        }
    report.update(
        {
            "scorer": name,
            "split": settings.split,
            "seed": settings.seed,
            "source": data.corpus.source,
            "n_sessions": int(np.unique(scored.session_index).size),
            "dropped_unknown_clicks": data.corpus.dropped_unknown_clicks,
        }
    )
    if has_phases(data.corpus):
        report["phases"] = phase_reports(scorer, scored, data.corpus)
    report["seconds"] = round(time.perf_counter() - started, 3)
    return report


def model_and_data(
    settings: Settings,
    model_path: Path,
    corpus: SessionCorpus | None = None,
    purpose: str = "evaluate",
) -> tuple[SessionModel, CheckpointMeta, PreparedData]:
    """The checkpoint at ``model_path`` and the run's data, mapped through its catalog
    (``ConfigError``/``CheckpointError``, naming ``purpose``, when they do not fit)."""
    model, meta = load_model(model_path)
    if meta.item_ids is not None and not settings.csv_path and corpus is None:
        raise ConfigError(
            f"{model_path} was trained on a click log ({meta.source}); {purpose} it on a "
            "log with --from-csv"
        )
    data = prepare_data(settings, corpus, item_ids=meta.item_ids)
    if data.corpus.n_items != meta.n_items:
        raise CheckpointError(
            f"{model_path} was trained on a catalog of {meta.n_items} items, "
            f"this run has {data.corpus.n_items}"
        )
    return model, meta, data


def held_out(settings: Settings, data: PreparedData) -> PrefixExamples:
    """The examples a checkpoint is judged on: the held-out side of the split, or with
    ``--split none`` and no validation log, every session of the log."""
    return data.train if settings.split == "none" and not settings.validation_csv else data.val
