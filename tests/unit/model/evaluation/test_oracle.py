"""The oracle is the exact next-click distribution in every generator mode, and the modes
separate models that the seed's data cannot tell apart.

Statistical checks compare what the oracle expects with what the generator drew over every
next click of a few thousand sessions. Each next click, given everything before it, is one
draw from the oracle's distribution, so for any event ``A`` the observed count minus the sum
of the oracle's ``P(A)`` is a martingale with variance ``sum P(A)(1 - P(A))``; we allow 4
standard deviations (a correct oracle falls outside with probability < 1e-4, and a wrong
mixture weight or table moves these counts by tens of deviations). The samples are seeded,
so the outcome is the same on every run.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
import torch

from streamrec.config import Settings
from streamrec.model.data.corpus import generated_corpus
from streamrec.model.data.examples import PrefixExamples, build_examples
from streamrec.model.data.loading import prepare_data
from streamrec.model.evaluation.baselines import make_baseline
from streamrec.model.evaluation.evaluate import evaluate
from streamrec.model.evaluation.oracle import OracleScorer
from streamrec.model.scoring import PrefixBatch

MODES = ("seed", "series", "anchor")
USERS = 800  # about 15,000 next clicks per mode
BATCH = 2048

# per mode: the event whose frequency the mode is about, as a (B, n_items) mask of the items
# that make it happen, from the prefix's own clicks
ModeEvent = Callable[[OracleScorer, PrefixBatch], torch.Tensor]


def _same_category(oracle: OracleScorer, batch: PrefixBatch) -> torch.Tensor:
    last = torch.from_numpy(oracle.hidden_state(batch).category)
    return oracle.item_category.unsqueeze(0) == last.unsqueeze(1)


def _successor(oracle: OracleScorer, batch: PrefixBatch) -> torch.Tensor:
    assert oracle.gen.tables.successor is not None
    nxt = torch.from_numpy(oracle.gen.tables.successor[oracle.hidden_state(batch).last_item])
    mask = torch.zeros((len(batch), oracle.gen.n_items), dtype=torch.bool)
    mask[torch.arange(len(batch)), nxt] = True
    return mask


def _anchor_subtopic(oracle: OracleScorer, batch: PrefixBatch) -> torch.Tensor:
    assert oracle.item_subtopic is not None
    own = torch.from_numpy(oracle.hidden_state(batch).subtopic)
    return oracle.item_subtopic.unsqueeze(0) == own.unsqueeze(1)


MODE_EVENTS: dict[str, ModeEvent] = {
    "seed": _same_category,
    "series": _successor,
    "anchor": _anchor_subtopic,
}


class Tally:
    """Observed count, expected count and variance of one event over many next clicks."""

    def __init__(self) -> None:
        self.observed = 0.0
        self.expected = 0.0
        self.variance = 0.0

    def add(self, probs: torch.Tensor, mask: torch.Tensor, targets: torch.Tensor) -> None:
        """Add a batch: ``mask`` (B, n_items) marks the event's items for each row."""
        p = (probs * mask).sum(dim=1)
        self.expected += float(p.sum())
        self.variance += float((p * (1 - p)).sum())
        self.observed += float(mask.gather(1, targets.view(-1, 1)).sum())

    def deviations(self) -> float:
        """|observed - expected| in standard deviations."""
        return abs(self.observed - self.expected) / math.sqrt(self.variance)


def _all_next_clicks(mode: str) -> tuple[OracleScorer, PrefixExamples]:
    corpus = generated_corpus(users=USERS, seed=21, generator=mode)
    examples = build_examples(corpus.sessions, 25)
    return OracleScorer(corpus), examples


@pytest.mark.slow
@pytest.mark.parametrize("mode", MODES)
def test_the_oracle_matches_the_generators_next_clicks(mode: str) -> None:
    oracle, examples = _all_next_clicks(mode)
    n_items = oracle.gen.n_items
    expected_items = torch.zeros(n_items, dtype=torch.float64)
    observed_items = torch.zeros(n_items, dtype=torch.float64)
    tallies = {name: Tally() for name in ("mode event", "top-1", "top-10")}
    for start in range(0, len(examples), BATCH):
        batch = examples.subset(np.arange(start, min(start + BATCH, len(examples))))
        probs = oracle.probabilities(batch)
        assert float(probs.min()) >= 0.0
        assert torch.allclose(probs.sum(dim=1), torch.ones(len(batch), dtype=torch.float64))
        targets = torch.from_numpy(batch.targets)
        expected_items += probs.sum(dim=0)
        observed_items += torch.bincount(targets, minlength=n_items).double()
        ranked = oracle.score(batch).topk(10, dim=1).indices
        top = torch.zeros_like(probs, dtype=torch.bool).scatter_(1, ranked, True)
        first = torch.zeros_like(top).scatter_(1, ranked[:, :1], True)
        tallies["mode event"].add(probs, MODE_EVENTS[mode](oracle, batch), targets)
        tallies["top-10"].add(probs, top, targets)
        tallies["top-1"].add(probs, first, targets)
    for name, tally in tallies.items():
        assert tally.deviations() < 4.0, (name, tally.observed, tally.expected)
    # item by item: Pearson's statistic over items expected 5+ times; its mean is at most the
    # number of items counted (each count's variance is at most its expectation)
    kept = expected_items >= 5
    chi2 = float(((observed_items - expected_items)[kept] ** 2 / expected_items[kept]).sum())
    n_kept = int(kept.sum())
    assert n_kept > 300
    assert chi2 < n_kept + 4 * math.sqrt(2 * n_kept), (chi2, n_kept)


def test_on_seed_data_the_oracle_is_the_category_process() -> None:
    corpus = generated_corpus(users=200, seed=21)
    oracle = OracleScorer(corpus)
    examples = build_examples(corpus.sessions, 25)
    batch = examples.subset(np.arange(500))
    assert torch.equal(oracle.probabilities(batch), oracle.category_process(batch))
    order = oracle.score(batch).argsort(dim=1, descending=True)[:, :20]
    probs = oracle.probabilities(batch)
    assert (probs.gather(1, order[:, :-1]) >= probs.gather(1, order[:, 1:])).all()


def _hit_at_10(settings: Settings, scorer_name: str) -> float:
    data = prepare_data(settings)
    scorer = make_baseline(scorer_name, data.corpus, data.train)
    return evaluate(scorer, data.val, data.corpus.behaviors).total.metrics()["hit_at_10"]


def test_series_gives_a_markov_chain_what_category_popularity_cannot_read() -> None:
    settings = Settings(users=1500, generator="series", threads=1)
    markov = _hit_at_10(settings, "markov")
    category = _hit_at_10(settings, "category-popularity")
    assert markov > category + 0.15, (markov, category)


class _CategoryProcess:
    """The seed-mode oracle's reasoning (category chain and popularity) on any data."""

    def __init__(self, oracle: OracleScorer) -> None:
        self.oracle = oracle

    def score(self, batch: PrefixBatch) -> torch.Tensor:
        return self.oracle.category_process(batch)


def test_anchor_holds_signal_beyond_the_last_category() -> None:
    data = prepare_data(Settings(users=1500, generator="anchor"))
    oracle = OracleScorer(data.corpus)
    full = evaluate(oracle, data.val, data.corpus.behaviors).total.metrics()["hit_at_10"]
    last_category = evaluate(_CategoryProcess(oracle), data.val, data.corpus.behaviors)
    assert full > last_category.total.metrics()["hit_at_10"] + 0.15
