"""``markov`` and ``popularity``: the count baselines as servable models.

Fitted in one pass over the training examples; their tables are the checkpoint's state, so
``streamrec consume`` serves them like any network (by recomputing each window, which for
these models reads only the last click). Popularity counts every click of the training
sessions (data/globo-news's yardstick: "clicks on j so far"); the seed's baselines
(``evaluate --baseline``) count targets only, as the seed measured them. A window whose last
click the model does not know (model id 0, see ``evaluation.prequential``) gets no
transitions: popularity alone. Both update exactly from the stream (``CountLearner``).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch

from streamrec.model.data.examples import PrefixExamples
from streamrec.model.evaluation.baselines import (
    CategoryPopularityScorer,
    MarkovScorer,
    PopularityScorer,
    target_counts,
)
from streamrec.model.evaluation.evaluate import evaluate
from streamrec.model.scoring import Scorer, StreamingScorer, WindowRecomputer
from streamrec.model.training.trainer import EpochRecord
from streamrec.model.zoo.base import Architecture, TrainingRun, TrainOutcome
from streamrec.model.zoo.count_learners import CountLearner
from streamrec.model.zoo.updates import LearnerStart

METRICS = ("hit_at_10", "hit_at_20", "mrr_at_20")


class CountModel:
    """Popularity counts, optionally item categories, and (Markov) transition counts."""

    def __init__(
        self,
        architecture: str,
        counts: np.ndarray,
        category: np.ndarray | None = None,
        transitions: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    ) -> None:
        self._architecture = architecture
        self.counts = np.asarray(counts, dtype=np.int64)
        self.category = category
        self.transitions = transitions

    @property
    def architecture(self) -> str:
        """``markov`` or ``popularity``."""
        return self._architecture

    @property
    def n_items(self) -> int:
        """Catalog size."""
        return len(self.counts)

    def config(self) -> dict[str, Any]:
        """Count models have no hyper-parameters beyond how they back off."""
        return {"fallback": "category-popularity" if self.category is not None else "popularity"}

    def state(self) -> dict[str, Any]:
        """The count tables as tensors."""
        out: dict[str, Any] = {"counts": torch.from_numpy(self.counts)}
        if self.category is not None:
            out["category"] = torch.from_numpy(np.asarray(self.category, dtype=np.int64))
        if self.transitions is not None:
            for name, table in zip(("rows", "cols", "pair_counts"), self.transitions):
                out[name] = torch.from_numpy(np.asarray(table, dtype=np.int64))
        return out

    def n_parameters(self) -> int:
        """Table entries."""
        return len(self.counts) + (len(self.transitions[0]) if self.transitions else 0)

    def scorer(self) -> Scorer:
        """Popularity (within the last click's category where known), lifted by transition
        counts from the last click for ``markov``."""
        base: Scorer = (
            CategoryPopularityScorer(self.counts, self.category)
            if self.category is not None
            else PopularityScorer(self.counts)
        )
        if self.transitions is None:
            return base
        return MarkovScorer(*self.transitions, self.n_items, base)

    def streaming_scorer(self, max_len: int, scoring: str, cache_bytes: int) -> StreamingScorer:
        """Every window recomputed (only its last click matters)."""
        return WindowRecomputer(self.scorer(), max_len)


def click_counts(train: PrefixExamples, n_items: int) -> np.ndarray:
    """Clicks per item in the sessions of the training examples: every target, and each
    session's first click (the prefix of its position-1 example). Equal to what the learner
    counts on sessions of two clicks or more (a one-click session has no example)."""
    firsts = train.windows[train.position == 1, -1] - 1
    return target_counts(train, n_items) + np.bincount(firsts, minlength=n_items)


def _fit(run: TrainingRun, markov: bool) -> TrainOutcome:
    data = run.data
    started = time.perf_counter()
    counts = click_counts(data.train, data.corpus.n_items)
    transitions = None
    if markov:
        fitted = MarkovScorer.fit(data.train, data.corpus.n_items, PopularityScorer(counts))
        transitions = (fitted.rows, fitted.cols, fitted.counts.astype(np.int64))
    category = data.corpus.item_category if markov else None
    model = CountModel("markov" if markov else "popularity", counts, category, transitions)
    fitted_s = time.perf_counter() - started
    totals = evaluate(model.scorer(), data.val, data.corpus.behaviors)
    nan = float("nan")
    figures = totals.total.metrics() if len(data.val) else dict.fromkeys(METRICS, nan)
    record = EpochRecord(
        epoch=1, train_loss=nan, val_loss=nan,
        hit_at_10=figures["hit_at_10"], hit_at_20=figures["hit_at_20"],
        mrr_at_20=figures["mrr_at_20"],
        train_seconds=fitted_s, eval_seconds=time.perf_counter() - started - fitted_s,
        per_behavior={k: dict(v.metrics()) for k, v in totals.groups.items()},
    )  # fmt: skip
    run.board.note(f"fitted {model.architecture} on {len(data.train):,} training examples")
    return TrainOutcome(model, [record], {"fit": "counts over the training examples"})


def _load(markov: bool) -> Any:
    def load(
        config: dict[str, Any], state: dict[str, Any], n_items: int, device: torch.device
    ) -> CountModel:
        counts = state["counts"].numpy()
        if len(counts) != n_items:
            raise ValueError(f"{len(counts)} counts for a catalog of {n_items}")
        category = state["category"].numpy() if "category" in state else None
        transitions = (
            (state["rows"].numpy(), state["cols"].numpy(), state["pair_counts"].numpy())
            if markov
            else None
        )
        return CountModel("markov" if markov else "popularity", counts, category, transitions)

    return load


def exact_count_model(learner: CountLearner) -> CountModel:
    """``markov`` or ``popularity`` as ``_fit`` builds them, from a learner's tables: click
    counts, and for ``markov`` transition counts (backed off to category-popularity where the
    start model had categories: generated data)."""
    transitions = None
    if learner.transitions:
        rows, cols, values = learner.transition_table()
        transitions = (rows, cols, values.astype(np.int64))
    category = learner.category if learner.transitions else None
    return CountModel(
        learner.architecture,
        learner.clicks.copy(),
        None if category is None else category.copy(),
        transitions,
    )


def _learner(markov: bool) -> Any:
    def make(start: LearnerStart) -> CountLearner:
        name = "markov" if markov else "popularity"
        return CountLearner(name, start, markov, None, exact_count_model)

    return make


MARKOV = Architecture(
    name="markov",
    summary="first-order Markov chain: last click -> next click counts, backed off to popularity",
    train=lambda run: _fit(run, markov=True),
    load=_load(markov=True),
    learner=_learner(markov=True),
    update_kind="exact",
)
POPULARITY = Architecture(
    name="popularity",
    summary="the most clicked items for everyone",
    train=lambda run: _fit(run, markov=False),
    load=_load(markov=False),
    learner=_learner(markov=False),
    update_kind="exact",
)
