"""``streamrec evaluate``: a checkpoint or a baseline on the validation side of a split."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from streamrec.config import Settings
from streamrec.model.checkpoint import load_checkpoint
from streamrec.model.data.corpus import SessionCorpus
from streamrec.model.data.loading import prepare_data
from streamrec.model.evaluation.baselines import make_baseline
from streamrec.model.evaluation.evaluate import ModelScorer, evaluate
from streamrec.model.runtime import configure_torch
from streamrec.model.scoring import Scorer


def evaluate_named(
    settings: Settings,
    model_path: Path | None = None,
    baseline: str | None = None,
    corpus: SessionCorpus | None = None,
) -> dict[str, Any]:
    """Evaluate a checkpoint or a baseline on the validation side of ``settings.split``."""
    configure_torch(settings.threads, "cpu")
    data = prepare_data(settings, corpus)
    started = time.perf_counter()
    if model_path is not None:
        model, meta = load_checkpoint(model_path, expect_n_items=data.corpus.n_items)
        scorer: Scorer = ModelScorer(model)
        name = f"model:{model_path}"
        if meta.split != settings.split or meta.seed != settings.seed:
            name += f" (trained with split={meta.split}, seed={meta.seed})"
    elif baseline is not None:
        scorer = make_baseline(baseline, data.corpus, data.train)
        name = f"baseline:{baseline}"
    else:
        raise ValueError("give a model path or a baseline name")
    report = evaluate(scorer, data.val, data.corpus.behaviors).report()
    report.update(
        {
            "scorer": name,
            "split": settings.split,
            "seed": settings.seed,
            "source": data.corpus.source,
            "seconds": round(time.perf_counter() - started, 3),
        }
    )
    return report
