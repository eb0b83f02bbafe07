"""Non-neural scorers: popularity, category-popularity, first-order Markov, and the oracle
(``oracle.py``).

Every scorer maps a batch of prefix examples to full-catalog scores (B, n_items); the
evaluation code ranks those with ties counted against the target, so a scorer that cannot
tell items apart earns nothing from luck. Counting is done on the *training* examples only.
"""

from __future__ import annotations

import numpy as np
import torch

from streamrec.config import BASELINES
from streamrec.model.data.corpus import SessionCorpus
from streamrec.model.data.examples import PrefixExamples
from streamrec.model.evaluation.oracle import OracleScorer
from streamrec.model.scoring import PrefixBatch, Scorer


def _last_items(batch: PrefixBatch) -> np.ndarray:
    """0-based id of each prefix's last item (windows are shifted by one and left-padded)."""
    return batch.windows[:, -1] - 1


class PopularityScorer:
    """Most frequent training targets, the same list for everyone."""

    def __init__(self, counts: np.ndarray) -> None:
        self.counts = torch.from_numpy(np.asarray(counts, dtype=np.float64))

    @classmethod
    def fit(cls, train: PrefixExamples, n_items: int) -> PopularityScorer:
        """Count the training targets."""
        return cls(np.bincount(train.targets, minlength=n_items))

    def score(self, batch: PrefixBatch) -> torch.Tensor:
        """Global target counts for every row."""
        return self.counts.expand(len(batch), -1)


class CategoryPopularityScorer:
    """Most frequent training targets within the category of the prefix's last item.

    Items of other categories score below every item of the current one; within the category,
    equal counts are broken by global popularity (a deterministic, data-driven order).
    """

    def __init__(self, counts: np.ndarray, item_category: np.ndarray) -> None:
        counts = np.asarray(counts, dtype=np.float64)
        self.item_category = torch.from_numpy(item_category)
        # counts + fraction < 1 keeps count order and breaks ties within a category.
        self.item_score = torch.from_numpy(counts + counts / (counts.max() + 1.0) * 0.5 + 1.0)

    def score(self, batch: PrefixBatch) -> torch.Tensor:
        """Item score within the last item's category, 0 elsewhere."""
        current = self.item_category[torch.from_numpy(_last_items(batch))]
        same = self.item_category.unsqueeze(0) == current.unsqueeze(1)
        return torch.where(same, self.item_score.unsqueeze(0), torch.zeros(()).double())


class MarkovScorer:
    """First-order transitions last item -> next item from training, backed off to a fallback.

    Items seen after the last item rank first by transition count; the rest keep the fallback
    scorer's order (category-popularity on generated data, popularity otherwise).
    """

    def __init__(
        self, rows: np.ndarray, cols: np.ndarray, counts: np.ndarray, n_items: int, fallback: Scorer
    ) -> None:
        self.n_items = n_items
        self.rows = np.asarray(rows, dtype=np.int64)
        self.cols = np.asarray(cols, dtype=np.int64)
        self.counts = np.asarray(counts, dtype=np.float64)
        self.row_start = np.searchsorted(self.rows, np.arange(n_items + 1))
        self.fallback = fallback

    @classmethod
    def fit(cls, train: PrefixExamples, n_items: int, fallback: Scorer) -> MarkovScorer:
        """Count last item -> next item transitions in the training examples."""
        pairs = _last_items(train) * n_items + train.targets
        keys, counts = np.unique(pairs, return_counts=True)
        return cls(keys // n_items, keys % n_items, counts, n_items, fallback)

    def score(self, batch: PrefixBatch) -> torch.Tensor:
        """Transition counts lifted above the fallback's scores."""
        base = self.fallback.score(batch).double()
        base = base - base.min(dim=1, keepdim=True).values
        lift = base.max(dim=1, keepdim=True).values + 1.0
        trans = torch.zeros_like(base)
        for row, last in enumerate(_last_items(batch)):
            lo, hi = self.row_start[last], self.row_start[last + 1]
            trans[row, torch.from_numpy(self.cols[lo:hi])] = torch.from_numpy(self.counts[lo:hi])
        return base + trans * lift


def make_baseline(name: str, corpus: SessionCorpus, train: PrefixExamples) -> Scorer:
    """Build baseline ``name`` from the training examples of ``corpus``."""
    category = corpus.item_category
    if name == "popularity":
        return PopularityScorer.fit(train, corpus.n_items)
    if name == "category-popularity":
        if category is None:
            raise ValueError("category-popularity needs item categories (generated data)")
        return CategoryPopularityScorer(target_counts(train, corpus.n_items), category)
    if name == "markov":
        return MarkovScorer.fit(train, corpus.n_items, popularity_fallback(train, corpus))
    if name == "oracle":
        return OracleScorer(corpus)
    raise ValueError(f"unknown baseline {name!r}; choose one of {', '.join(BASELINES)}")


def target_counts(train: PrefixExamples, n_items: int) -> np.ndarray:
    """How often each item is a training target."""
    return np.bincount(train.targets, minlength=n_items)


def popularity_fallback(train: PrefixExamples, corpus: SessionCorpus) -> Scorer:
    """What a Markov chain backs off to: category-popularity where items have categories
    (generated data), popularity otherwise."""
    counts = target_counts(train, corpus.n_items)
    if corpus.item_category is not None:
        return CategoryPopularityScorer(counts, corpus.item_category)
    return PopularityScorer(counts)
