"""On every generator mode, no model of the zoo beats the oracle's Hit@10 on the same
held-out prefixes (tiny training: a few hundred users, one epoch).

The oracle ranks by the exact next-click distribution, so on each prefix its chance of a hit
is at least any model's: the mean of the per-prefix differences (model hit - oracle hit) has
expectation <= 0. Over a finite sample a model could come out ahead by luck; we allow 3
standard errors of that paired mean (a margin a correct oracle exceeds with probability
about 0.001; a scorer that really beats the oracle by a few points exceeds it many times).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from rich.console import Console

from streamrec.config import ARCHITECTURES, Settings
from streamrec.model.data.loading import PreparedData
from streamrec.model.evaluation.baselines import make_baseline
from streamrec.model.evaluation.compare import compare_models
from streamrec.model.evaluation.ranking import ranks_from_scores
from streamrec.model.scoring import Scorer
from streamrec.model.zoo import load_model

MODELS = [*ARCHITECTURES, "category-popularity", "oracle"]


def _hits_at_10(scorer: Scorer, data: PreparedData) -> np.ndarray:
    """1 where the scorer ranks a held-out prefix's target in its top 10, else 0."""
    hits = []
    for start in range(0, len(data.val), 1024):
        batch = data.val.subset(np.arange(start, min(start + 1024, len(data.val))))
        ranks = ranks_from_scores(scorer.score(batch), torch.from_numpy(batch.targets))
        hits.append((ranks <= 10).numpy())
    return np.concatenate(hits).astype(np.float64)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["seed", "series", "anchor"])
def test_no_model_beats_the_oracle(mode: str, tmp_path: Path) -> None:
    settings = Settings(users=300, generator=mode, epochs=1, threads=1)
    rows, data = compare_models(settings, MODELS, tmp_path, Console(quiet=True))
    assert [r.model for r in rows] == MODELS
    oracle = _hits_at_10(make_baseline("oracle", data.corpus, data.train), data)
    assert rows[-1].hit_at_10 == pytest.approx(oracle.mean())
    for row in rows[:-1]:
        if row.model == "category-popularity":
            scorer = make_baseline(row.model, data.corpus, data.train)
        else:
            scorer = load_model(tmp_path / f"{row.model}.pt")[0].scorer()
        hits = _hits_at_10(scorer, data)
        assert hits.mean() == pytest.approx(row.hit_at_10), row.model  # the prefixes compared
        diff = hits - oracle
        margin = 3 * diff.std(ddof=1) / math.sqrt(len(diff)) if diff.any() else 0.0
        assert diff.mean() <= margin, (mode, row.model, hits.mean(), oracle.mean())
    assert len(data.val) > 1000
