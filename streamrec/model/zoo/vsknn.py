"""``vsknn``: session-based kNN with position-decayed ("vector") similarity.

V-SKNN as benchmarked by Ludewig & Jannach, "Evaluation of session-based recommendation
algorithms" (2018), and defined by session-rec's ``VMContextKNN``. No training: the whole
training sessions are indexed (session -> distinct items, item -> sessions), oldest first, so
a session's index is its recency rank (by start time for click logs, else file order). For a
prefix of ``L`` clicks (the scored window: its last ``max_len`` clicks at most):

1. candidates: the training sessions sharing an item with the prefix, of which the
   ``sample_size`` most recent are kept (0: all of them);
2. similarity of a candidate: the sum, over the distinct items it shares with the prefix, of
   the weight of the item's last click in the prefix (``weighting`` of its 1-based position
   ``i`` out of ``L``), divided by the number of distinct prefix items;
3. neighbours: the ``k`` most similar candidates (ties, to 1e-12: the more recent first);
4. score of an item: the sum over the neighbours containing it of similarity x
   ``weighting_score`` of the neighbour's match step (1 for a neighbour holding the last
   click, 2 for the click before, ...), times ``1 + idf_weighting x idf(item)`` where
   ``idf = log(training sessions / training clicks on the item)``.

Items no neighbour holds score 0 and tie at the bottom. Two departures from session-rec, both
where its formulas misbehave: ``linear`` weights are ``max(0, 1 - 0.1 (L - i))`` (session-rec
zeroes every position after the 10th), and the ``linear`` score decay is floored at 0; scores
are not divided by their maximum (ranks are the same).
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch

from streamrec.model.data.corpus import SessionCorpus
from streamrec.model.evaluation.evaluate import evaluate
from streamrec.model.scoring import PrefixBatch, Scorer, StreamingScorer, WindowRecomputer
from streamrec.model.training.trainer import EpochRecord
from streamrec.model.zoo.base import Architecture, TrainingRun, TrainOutcome
from streamrec.model.zoo.updates import LearnerStart
from streamrec.model.zoo.vsknn_learner import SessionIndexLearner

DECAYS = ("same", "div", "linear", "log", "quadratic")


@dataclass(frozen=True)
class VSKNNConfig:
    """V-SKNN's hyper-parameters; the defaults are the best published YOOCHOOSE setting."""

    k: int = 100  # neighbours that vote
    sample_size: int = 500  # most recent candidate sessions kept (0: all)
    weighting: str = "div"  # decay of a prefix click's weight with its position
    weighting_score: str = "div"  # decay of a neighbour's vote with its match step
    idf_weighting: float = 10.0  # 0: off

    def validate(self) -> VSKNNConfig:
        """This config, or ``ValueError`` naming what is wrong."""
        if self.k < 1 or self.sample_size < 0:
            raise ValueError(f"need k >= 1 and sample_size >= 0, got {self.k}, {self.sample_size}")
        for name in (self.weighting, self.weighting_score):
            if name not in DECAYS:
                raise ValueError(f"unknown weighting {name!r}; choose one of {', '.join(DECAYS)}")
        if not math.isfinite(self.idf_weighting) or self.idf_weighting < 0:
            raise ValueError(f"idf_weighting must be finite and >= 0, got {self.idf_weighting}")
        return self

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> VSKNNConfig:
        """The config a checkpoint stored (``config()``), validated."""
        return cls(
            k=int(values["k"]),
            sample_size=int(values["sample_size"]),
            weighting=str(values["weighting"]),
            weighting_score=str(values["weighting_score"]),
            idf_weighting=float(values["idf_weighting"]),
        ).validate()


def position_weights(name: str, positions: np.ndarray, length: int) -> np.ndarray:
    """Weight of a prefix click at 1-based ``positions`` (oldest first) among ``length``."""
    i = positions.astype(np.float64)
    if name == "same":
        return np.ones_like(i)
    if name == "div":
        return i / length
    if name == "linear":
        return np.maximum(0.0, 1.0 - 0.1 * (length - i))
    if name == "log":
        return 1.0 / np.log10(length - i + 1.7)
    return (i / length) ** 2  # quadratic


def step_decay(name: str, steps: np.ndarray) -> np.ndarray:
    """Vote decay of a neighbour matched at ``steps`` clicks back (1: the last click)."""
    s = steps.astype(np.float64)
    if name == "same":
        return np.ones_like(s)
    if name == "div":
        return 1.0 / s
    if name == "linear":
        return np.maximum(0.0, 1.0 - 0.1 * s)
    if name == "log":
        return 1.0 / np.log10(s + 1.7)
    return 1.0 / (s * s)  # quadratic


def _ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Concatenated ``arange(start, start + length)`` for each pair."""
    ends = np.cumsum(lengths)
    return np.arange(int(ends[-1]) if len(ends) else 0) + np.repeat(
        starts - ends + lengths, lengths
    )


class VSKNNModel:
    """The indexed training sessions and how they vote (``score`` is its offline face)."""

    architecture = "vsknn"

    def __init__(
        self,
        config: VSKNNConfig,
        n_items: int,
        session_ptr: np.ndarray,
        session_items: np.ndarray,
        idf: np.ndarray,
    ) -> None:
        self.cfg = config.validate()
        self._n_items = n_items
        self.session_ptr = np.asarray(session_ptr, dtype=np.int64)
        self.session_items = np.asarray(session_items, dtype=np.int64)
        self.idf = np.asarray(idf, dtype=np.float64)
        if len(self.idf) != n_items or (
            len(self.session_items) and self.session_items.max() >= n_items
        ):
            raise ValueError(f"index does not fit a catalog of {n_items} items")
        # item -> sessions, each list ascending (oldest first): a stable sort keeps owner order
        owners = np.repeat(np.arange(len(self.session_ptr) - 1), np.diff(self.session_ptr))
        self.item_sessions = owners[np.argsort(self.session_items, kind="stable")]
        per_item = np.bincount(self.session_items, minlength=n_items)
        self.item_ptr = np.concatenate([[0], np.cumsum(per_item)]).astype(np.int64)

    @property
    def n_items(self) -> int:
        """Catalog size."""
        return self._n_items

    @property
    def n_sessions(self) -> int:
        """Indexed training sessions."""
        return len(self.session_ptr) - 1

    def config(self) -> dict[str, Any]:
        """The ``VSKNNConfig`` as a dict."""
        return asdict(self.cfg)

    def state(self) -> dict[str, Any]:
        """The session -> items index (CSR, sessions oldest first) and the items' idf."""
        return {
            "session_ptr": torch.from_numpy(self.session_ptr.copy()),
            "session_items": torch.from_numpy(self.session_items.copy()),
            "idf": torch.from_numpy(self.idf.copy()),
        }

    def n_parameters(self) -> int:
        """Index entries (session, item) and idf values."""
        return len(self.session_items) + len(self.idf)

    def scorer(self) -> Scorer:
        """This model: it scores prefix batches itself."""
        return self

    def streaming_scorer(self, max_len: int, scoring: str, cache_bytes: int) -> StreamingScorer:
        """Every window recomputed (the neighbours depend on the whole window)."""
        return WindowRecomputer(self, max_len)

    def neighbours(self, clicks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The neighbour sessions of a prefix (dense ids, oldest first) and their votes
        (similarity x match-step decay), best first."""
        cfg, length = self.cfg, len(clicks)
        items, back = np.unique(clicks[::-1], return_index=True)  # back: 0 = the last click
        starts, ends = self.item_ptr[items], self.item_ptr[items + 1]
        if cfg.sample_size:  # a session among the S most recent is among each item's S last
            starts = np.maximum(starts, ends - cfg.sample_size)
        counts = ends - starts
        if not counts.any():
            return np.zeros(0, np.int64), np.zeros(0)
        sessions = self.item_sessions[_ranges(starts, counts)]
        candidates, inverse = np.unique(sessions, return_inverse=True)
        weights = position_weights(cfg.weighting, length - back, length) / len(items)
        similarity = np.bincount(inverse, np.repeat(weights, counts), len(candidates))
        step = np.full(len(candidates), length + 1, dtype=np.int64)
        np.minimum.at(step, inverse, np.repeat(back + 1, counts))
        if cfg.sample_size and len(candidates) > cfg.sample_size:
            keep = slice(len(candidates) - cfg.sample_size, None)
            candidates, similarity, step = candidates[keep], similarity[keep], step[keep]
        # rounded so that sums equal but for their order tie, and the more recent wins
        best = np.lexsort((-candidates, -np.round(similarity, 12)))[: cfg.k]
        best = best[similarity[best] > 0]
        return candidates[best], similarity[best] * step_decay(cfg.weighting_score, step[best])

    def score(self, batch: PrefixBatch) -> torch.Tensor:
        """Scores (B, n_items): the neighbours' votes for their items, idf-weighted."""
        found = [self.neighbours(row[row > 0] - 1) for row in np.asarray(batch.windows)]
        n_found = np.fromiter((len(s) for s, _ in found), np.int64, len(found))
        scores = np.zeros(len(found) * self.n_items)
        if n_found.any():
            neigh = np.concatenate([s for s, _ in found])
            votes = np.concatenate([v for _, v in found])
            starts = self.session_ptr[neigh]
            sizes = self.session_ptr[neigh + 1] - starts
            offsets = np.repeat(np.repeat(np.arange(len(found)) * self.n_items, n_found), sizes)
            cells = offsets + self.session_items[_ranges(starts, sizes)]
            scores = np.bincount(cells, np.repeat(votes, sizes), len(scores)).astype(np.float64)
        table = scores.reshape(len(found), self.n_items)
        if self.cfg.idf_weighting:
            table *= 1.0 + self.cfg.idf_weighting * self.idf
        return torch.from_numpy(table.astype(np.float32))


def fit_vsknn(corpus: SessionCorpus, session_index: np.ndarray, config: VSKNNConfig) -> VSKNNModel:
    """Index the corpus sessions at ``session_index`` (each once), oldest first."""
    chosen = np.unique(np.asarray(session_index, dtype=np.int64))
    times = corpus.start_times
    if (
        times is not None
        and len(times) == len(corpus.sessions)
        and not np.isnan(times[chosen]).any()
    ):
        chosen = chosen[np.argsort(times[chosen], kind="stable")]
    clicks = [np.asarray(corpus.sessions[s], dtype=np.int64) for s in chosen]
    distinct = [np.unique(c) for c in clicks]
    ptr = np.concatenate([[0], np.cumsum([len(d) for d in distinct])]).astype(np.int64)
    items = np.concatenate(distinct) if distinct else np.zeros(0, np.int64)
    click_counts = np.bincount(
        np.concatenate(clicks) if clicks else np.zeros(0, np.int64), minlength=corpus.n_items
    )
    with np.errstate(divide="ignore"):
        idf = np.where(click_counts > 0, np.log(len(chosen) / np.maximum(click_counts, 1)), 0.0)
    return VSKNNModel(config, corpus.n_items, ptr, items, idf)


def _train(run: TrainingRun) -> TrainOutcome:
    data = run.data
    started = time.perf_counter()
    model = fit_vsknn(data.corpus, data.train.session_index, VSKNNConfig())
    fitted_s = time.perf_counter() - started
    nan = float("nan")
    figures = dict.fromkeys(("hit_at_10", "hit_at_20", "mrr_at_20"), nan)
    groups: dict[str, dict[str, float]] = {}
    if len(data.val):
        totals = evaluate(model, data.val, data.corpus.behaviors)
        figures.update(totals.total.metrics())
        groups = {k: dict(v.metrics()) for k, v in totals.groups.items()}
    record = EpochRecord(
        epoch=1, train_loss=nan, val_loss=nan,
        hit_at_10=figures["hit_at_10"], hit_at_20=figures["hit_at_20"],
        mrr_at_20=figures["mrr_at_20"],
        train_seconds=fitted_s, eval_seconds=time.perf_counter() - started - fitted_s,
        per_behavior=groups,
    )  # fmt: skip
    run.board.note(f"indexed {model.n_sessions:,} training sessions for vsknn")
    return TrainOutcome(model, [record], {"fit": "index of the whole training sessions"})


def _load(
    config: dict[str, Any], state: dict[str, Any], n_items: int, device: torch.device
) -> VSKNNModel:
    return VSKNNModel(
        VSKNNConfig.from_dict(config),
        n_items,
        state["session_ptr"].numpy(),
        state["session_items"].numpy(),
        state["idf"].numpy(),
    )


def learner(start: LearnerStart) -> SessionIndexLearner:
    """The index grows with the stream's sessions (``vsknn_learner``); the start model's
    hyper-parameters, or the defaults."""
    config = start.model.cfg if isinstance(start.model, VSKNNModel) else VSKNNConfig()

    def build(n_items: int, ptr: np.ndarray, items: np.ndarray, idf: np.ndarray) -> VSKNNModel:
        return VSKNNModel(config, n_items, ptr, items, idf)

    return SessionIndexLearner(start, build)


VSKNN = Architecture(
    name="vsknn",
    summary="V-SKNN: session kNN with position-decayed similarity (Ludewig & Jannach 2018)",
    train=_train,
    load=_load,
    learner=learner,
    update_kind="exact",
)
