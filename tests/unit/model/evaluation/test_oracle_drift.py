"""The oracle follows each drift scenario, and a model trained before the moment drops after.

The oracle reads the phase that drew each session, so its rows stay distributions on both
sides of the moment, every click the generator drew has a positive probability under it, and
after the moment it ranks better than a stale oracle that still believes the first phase.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from streamrec.config import GENERATORS, Settings
from streamrec.model.data.corpus import generated_corpus
from streamrec.model.data.examples import PrefixExamples, build_examples
from streamrec.model.data.loading import prepare_data
from streamrec.model.evaluation.baselines import make_baseline
from streamrec.model.evaluation.oracle import OracleScorer
from streamrec.model.evaluation.ranking import ranks_from_scores
from streamrec.model.scoring import Scorer

SCENARIOS = ("new-items", "popularity-shift", "behaviour-mix")


def _hits_at_10(scorer: Scorer, examples: PrefixExamples) -> np.ndarray:
    ranks = ranks_from_scores(scorer.score(examples), torch.from_numpy(examples.targets))
    return (ranks <= 10).numpy().astype(np.float64)


@pytest.mark.parametrize("mode", GENERATORS)
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_oracle_rows_are_distributions_that_cover_every_click(mode: str, scenario: str) -> None:
    corpus = generated_corpus(users=200, seed=5, generator=mode, scenario=scenario)
    assert corpus.generated is not None
    examples = build_examples(corpus.sessions)
    oracle = OracleScorer(corpus)
    probs = oracle.probabilities(examples)
    assert torch.allclose(probs.sum(dim=1), torch.ones(len(examples), dtype=torch.float64))
    targets = probs[torch.arange(len(examples)), torch.from_numpy(examples.targets)]
    assert float(targets.min()) > 0.0  # the oracle never rules out what was drawn
    before = examples.session_index < corpus.generated.first_drifted
    assert before.any() and (~before).any()
    if scenario == "new-items":  # before the moment the new items have no mass
        new = torch.from_numpy(~corpus.generated.phases[0].live)
        assert float(probs[torch.from_numpy(before)][:, new].abs().max()) == 0.0


@pytest.mark.parametrize("scenario", ["new-items", "popularity-shift"])
def test_oracle_uses_the_process_live_after_the_moment(scenario: str) -> None:
    corpus = generated_corpus(users=1000, seed=6, scenario=scenario)
    assert corpus.generated is not None
    examples = build_examples(corpus.sessions)
    after = examples.subset(
        np.flatnonzero(examples.session_index >= corpus.generated.first_drifted)
    )
    oracle = OracleScorer(corpus)
    live = _hits_at_10(oracle, after).mean()
    oracle.session_phase[:] = 0  # a stale oracle: the first phase's process everywhere
    stale = _hits_at_10(oracle, after).mean()
    assert live > stale + 0.02, (live, stale)


def test_a_model_trained_before_new_items_drops_after_them() -> None:
    """Offline Hit@10 of count models trained on the sessions before the moment, on held-out
    prefixes before and after it (about 6,000 each side; standard error of a side ~0.006)."""
    data = prepare_data(Settings(users=4000, scenario="new-items"))
    assert data.corpus.generated is not None
    after = data.val.session_index >= data.corpus.generated.first_drifted
    pre, post = data.val.subset(np.flatnonzero(~after)), data.val.subset(np.flatnonzero(after))
    assert min(len(pre), len(post)) > 5000
    oracle = OracleScorer(data.corpus)
    oracle_pre, oracle_post = _hits_at_10(oracle, pre).mean(), _hits_at_10(oracle, post).mean()
    for name in ("category-popularity", "markov"):
        model = make_baseline(name, data.corpus, data.train)
        hits_pre, hits_post = _hits_at_10(model, pre).mean(), _hits_at_10(model, post).mean()
        # the best possible moves a little (more items after the moment); the model far more
        assert hits_pre - hits_post > 0.025 + max(oracle_pre - oracle_post, 0.0), name
        assert hits_pre / oracle_pre - hits_post / oracle_post > 0.1, (name, hits_pre, hits_post)
