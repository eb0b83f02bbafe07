"""``recent-popularity`` and ``recent-markov``: count models whose clicks fade with age.

News readers click what is new: yesterday's top articles are mostly dead today. Both models
weigh a click at time ``t`` by ``2 ** ((t - T) / half_life)`` (``T``: the latest click
learned), so a click an hour old counts half at a one-hour half-life (``--recency-half-life-h``).

- ``recent-popularity``: an item's score is its weighted clicks.
- ``recent-markov``: the weighted transitions from the last click the model knows in the
  window (clicks on unknown items skipped) to each item, plus ``prior_weight`` (0.001) x
  that item's weighted clicks (recent popularity as a small prior that orders what the
  transitions leave tied, and ranks the items a fresh last click has no transitions for);
  an item the window already holds scores ``seen_weight`` (0) times that: a news reader does
  not reopen an article in the same visit (no Globo session does), so it is never
  recommended again. It is a news model: on logs whose sessions come back to items (shops),
  markov or vsknn fit better.

On a log without click times (generated data) every click weighs the same: the models are
``popularity`` and a Markov chain with a popularity prior. Both update exactly from the
stream (``count_learners.CountLearner``): a version equals the model refitted on every click
learned so far (to floating-point rounding).
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch

from streamrec.model.data.corpus import SessionCorpus
from streamrec.model.data.examples import PrefixExamples
from streamrec.model.evaluation.baselines import PopularityScorer
from streamrec.model.evaluation.evaluate import evaluate
from streamrec.model.scoring import PrefixBatch, Scorer, StreamingScorer, WindowRecomputer
from streamrec.model.training.trainer import EpochRecord
from streamrec.model.zoo.base import Architecture, TrainingRun, TrainOutcome
from streamrec.model.zoo.count_learners import CountLearner
from streamrec.model.zoo.updates import Catalog, ClickBatch, LearnerStart

SECONDS_PER_HOUR = 3600.0


@dataclass(frozen=True)
class RecencyConfig:
    """The half-life of a click's weight; for ``recent-markov`` the weight of the popularity
    prior and the factor on the score of an item the session already clicked (0: never
    recommend it again; 1: as any other)."""

    half_life_h: float = 1.0
    prior_weight: float = 0.001
    seen_weight: float = 0.0

    def validate(self) -> RecencyConfig:
        """This config, or ``ValueError`` naming what is wrong."""
        if not 0 < self.half_life_h < math.inf:
            raise ValueError(f"half_life_h must be > 0, got {self.half_life_h}")
        if not 0 <= self.prior_weight < math.inf:
            raise ValueError(f"prior_weight must be >= 0, got {self.prior_weight}")
        if not 0 <= self.seen_weight <= 1:
            raise ValueError(f"seen_weight must be in 0..1, got {self.seen_weight}")
        return self


class RecentMarkovScorer:
    """Weighted transitions from each window's last known click, plus the popularity prior;
    the scores of the window's items times ``seen_weight``."""

    def __init__(
        self,
        rows: np.ndarray,
        cols: np.ndarray,
        weights: np.ndarray,
        prior: np.ndarray,
        seen_weight: float = 1.0,
    ) -> None:
        self.cols = torch.from_numpy(np.asarray(cols, dtype=np.int64))
        self.weights = torch.from_numpy(np.asarray(weights, dtype=np.float64))
        self.row_start = np.searchsorted(rows, np.arange(len(prior) + 1))
        self.prior = torch.from_numpy(np.asarray(prior, dtype=np.float64))
        self.seen_weight = seen_weight

    def score(self, batch: PrefixBatch) -> torch.Tensor:
        """Scores (B, n_items)."""
        windows = np.asarray(batch.windows)
        known = windows > 0
        # the last known click of each row (-1 where the window knows none)
        last_pos = windows.shape[1] - 1 - np.argmax(known[:, ::-1], axis=1)
        last = np.where(known.any(axis=1), windows[np.arange(len(windows)), last_pos] - 1, -1)
        scores = self.prior.unsqueeze(0).repeat(len(windows), 1)
        for row, item in enumerate(last.tolist()):
            if item >= 0:
                lo, hi = self.row_start[item], self.row_start[item + 1]
                scores[row, self.cols[lo:hi]] += self.weights[lo:hi]
        if self.seen_weight != 1.0:
            rows, cols = np.nonzero(known)
            seen = (torch.from_numpy(rows), torch.from_numpy(windows[rows, cols] - 1))
            scores[seen] = scores[seen] * self.seen_weight
        return scores


class RecencyModel:
    """The weighted click and transition tables of a recency model."""

    def __init__(
        self,
        architecture: str,
        config: RecencyConfig,
        weights: np.ndarray,
        transitions: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    ) -> None:
        self._architecture = architecture
        self.cfg = config.validate()
        self.weights = np.asarray(weights, dtype=np.float64)
        self.transitions = transitions

    @property
    def architecture(self) -> str:
        """``recent-popularity`` or ``recent-markov``."""
        return self._architecture

    @property
    def n_items(self) -> int:
        """Catalog size."""
        return len(self.weights)

    def config(self) -> dict[str, Any]:
        """The ``RecencyConfig`` as a dict."""
        return asdict(self.cfg)

    def state(self) -> dict[str, Any]:
        """The weighted tables as tensors."""
        out: dict[str, Any] = {"weights": torch.from_numpy(self.weights.copy())}
        if self.transitions is not None:
            rows, cols, values = self.transitions
            out.update(
                rows=torch.from_numpy(np.asarray(rows, dtype=np.int64)),
                cols=torch.from_numpy(np.asarray(cols, dtype=np.int64)),
                values=torch.from_numpy(np.asarray(values, dtype=np.float64)),
            )
        return out

    def n_parameters(self) -> int:
        """Table entries."""
        return len(self.weights) + (len(self.transitions[0]) if self.transitions else 0)

    def scorer(self) -> Scorer:
        """Recent popularity, or weighted transitions over it (``recent-markov``)."""
        if self.transitions is None:
            return PopularityScorer(self.weights)
        return RecentMarkovScorer(
            *self.transitions, self.cfg.prior_weight * self.weights, self.cfg.seen_weight
        )

    def streaming_scorer(self, max_len: int, scoring: str, cache_bytes: int) -> StreamingScorer:
        """Every window recomputed (only its last known click matters)."""
        return WindowRecomputer(self.scorer(), max_len)


def _config(settings_half_life_h: float, markov: bool) -> RecencyConfig:
    if markov:
        return RecencyConfig(half_life_h=settings_half_life_h)
    return RecencyConfig(half_life_h=settings_half_life_h, prior_weight=0.0, seen_weight=1.0)


def _published(config: RecencyConfig) -> Any:
    def make(learner: CountLearner) -> RecencyModel:
        transitions = None
        if learner.transitions:
            rows, cols, values = learner.transition_table()
            transitions = (rows.copy(), cols.copy(), learner.scaled(values))
        weights = learner.scaled(learner.weights)
        return RecencyModel(learner.architecture, config, weights, transitions)

    return make


def _learner(markov: bool) -> Any:
    def make(start: LearnerStart) -> CountLearner:
        model = start.model
        config = (
            model.cfg
            if isinstance(model, RecencyModel)
            else _config(start.settings.recency_half_life_h, markov)
        )
        name = "recent-markov" if markov else "recent-popularity"
        half_life_s = config.half_life_h * SECONDS_PER_HOUR
        return CountLearner(name, start, markov, half_life_s, _published(config))

    return make


def training_clicks(corpus: SessionCorpus, train: PrefixExamples) -> ClickBatch:
    """The clicks of the training examples' sessions as a stream (raw ids: the corpus's
    dense ids; times: the log's, or 0 where the corpus has none), in event-time order."""
    sessions = np.unique(train.session_index)
    items = [corpus.sessions[s] for s in sessions.tolist()]
    stamps = corpus.click_times
    times = [
        stamps[s] if stamps is not None else [0.0] * len(corpus.sessions[s])
        for s in sessions.tolist()
    ]
    keys = np.repeat(sessions, [len(s) for s in items])
    flat_items = np.fromiter((i for s in items for i in s), np.int64, len(keys))
    flat_times = np.nan_to_num(np.fromiter((t for s in times for t in s), np.float64, len(keys)))
    order = np.argsort(flat_times, kind="stable")
    return ClickBatch(keys[order], flat_items[order], flat_times[order])


def _fit(run: TrainingRun, markov: bool) -> TrainOutcome:
    data = run.data
    started = time.perf_counter()
    start = LearnerStart(
        None, Catalog(np.arange(data.corpus.n_items)), training_clicks(data.corpus, data.train),
        run.settings,
    )  # fmt: skip
    model, _ = _learner(markov)(start).publish()
    fitted_s = time.perf_counter() - started
    nan = float("nan")
    figures = dict.fromkeys(("hit_at_10", "hit_at_20", "mrr_at_20"), nan)
    if len(data.val):
        figures.update(evaluate(model.scorer(), data.val, data.corpus.behaviors).total.metrics())
    record = EpochRecord(
        epoch=1, train_loss=nan, val_loss=nan,
        hit_at_10=figures["hit_at_10"], hit_at_20=figures["hit_at_20"],
        mrr_at_20=figures["mrr_at_20"],
        train_seconds=fitted_s, eval_seconds=time.perf_counter() - started - fitted_s,
    )  # fmt: skip
    run.board.note(f"fitted {model.architecture} on {len(data.train):,} training examples")
    return TrainOutcome(model, [record], {"fit": "recency-weighted counts of the training clicks"})


def _load(markov: bool) -> Any:
    def load(
        config: dict[str, Any], state: dict[str, Any], n_items: int, device: torch.device
    ) -> RecencyModel:
        weights = state["weights"].numpy()
        if len(weights) != n_items:
            raise ValueError(f"{len(weights)} weights for a catalog of {n_items}")
        transitions = (
            (state["rows"].numpy(), state["cols"].numpy(), state["values"].numpy())
            if markov
            else None
        )
        cfg = RecencyConfig(
            float(config["half_life_h"]),
            float(config["prior_weight"]),
            float(config["seen_weight"]),
        )
        name = "recent-markov" if markov else "recent-popularity"
        return RecencyModel(name, cfg, weights, transitions)

    return load


RECENT_POPULARITY = Architecture(
    name="recent-popularity",
    summary="the most clicked items lately: clicks weighed down by age (a half-life)",
    train=lambda run: _fit(run, markov=False),
    load=_load(markov=False),
    learner=_learner(markov=False),
    update_kind="exact",
)
RECENT_MARKOV = Architecture(
    name="recent-markov",
    summary="Markov chain on age-weighted transitions with recent popularity as a prior",
    train=lambda run: _fit(run, markov=True),
    load=_load(markov=True),
    learner=_learner(markov=True),
    update_kind="exact",
)
