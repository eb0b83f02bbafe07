"""How the count models learn from the stream: ``markov``, ``popularity`` (``zoo.counts``)
and their recency variants ``recent-markov`` and ``recent-popularity`` (``zoo.recency``).

One learner class serves all four. It keeps what a refit from scratch would count, so a
published version equals the model fitted on every click learned so far (``exact``):

- the catalog, grown in first-seen order from the start's catalog (dense ids never move);
- each session's last item (sessions stay open across boundaries: a session's next click
  after a boundary still makes a transition from its last one);
- per item: its clicks (counted as they come: a session's first click counts before its
  second arrives) and, for the recency variants, its clicks weighted
  ``2 ** (t / half-life)``;
- transitions last item -> next item, as sorted ``(from, to)`` keys with counts (or
  recency weights), merged with the new ones at each publish.

Recency weights are kept against a reference time and rescaled by powers of two (exact in
floating point) so that the latest click weighs about 1: ranks only depend on ratios.
Decayed sums are equal to a refit up to floating-point rounding (sums in another order).
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import torch

from streamrec.model.zoo.item_ids import LearnedItems
from streamrec.model.zoo.updates import Catalog, ClickBatch, LearnerStart, UpdateReport

KEY_SHIFT = np.int64(32)  # transition key = from << 32 | to (dense ids < 2**31)
KEY_MASK = np.int64((1 << 32) - 1)
REBASE_EXPONENT = 512.0  # rebase recency weights before 2**exponent nears float64's range


class CountLearner:
    """The ``StreamLearner`` of a count model (see the module docstring).

    ``transitions``: count last item -> next item (Markov); ``half_life_s``: weigh clicks by
    recency (None: plain counts); ``make_model(learner)`` builds the published model from
    ``self``'s tables."""

    update_kind = "exact"

    def __init__(
        self,
        architecture: str,
        start: LearnerStart,
        transitions: bool,
        half_life_s: float | None,
        make_model: Any,
    ) -> None:
        self._architecture = architecture
        self.transitions = transitions
        self.half_life_s = half_life_s
        self.make_model = make_model
        model = start.model
        category = getattr(model, "category", None) if model is not None else None
        self.category = None if category is None else np.asarray(category, dtype=np.int64)
        self._published = start.catalog
        self.items = LearnedItems(start.catalog)
        self.last: dict[int, int] = {}  # session key -> dense id of its last click
        self.clicks = np.zeros(len(self.items), np.int64)  # every click, as it comes
        self.weights = np.zeros(len(self.items), np.float64)  # recency: clicks weighted
        self.keys = np.zeros(0, np.int64)  # sorted transition keys ...
        self.values = np.zeros(0, np.float64)  # ... and their counts or weights
        self.pending: list[tuple[np.ndarray, np.ndarray]] = []
        self.reference = math.nan  # recency: weights are 2 ** ((t - reference) / half-life)
        self.last_time = math.nan
        self.learned = 0  # clicks since the last publish
        self.learn(start.history)
        self.learned = 0

    @property
    def architecture(self) -> str:
        """The zoo name of the models it publishes."""
        return self._architecture

    @property
    def catalog(self) -> Catalog:
        """The catalog of the last published version."""
        return self._published

    @property
    def n_items(self) -> int:
        """Items learned so far (the next version's catalog size)."""
        return len(self.items)

    def learn(self, batch: ClickBatch) -> None:
        """Count the clicks of ``batch``. The tables do not depend on the order of batches,
        only on each session's clicks coming in order (a training log's sessions may run on
        past the first test click)."""
        if not len(batch):
            return
        dense = self.items.dense_ids(batch.items)
        prev = self._previous(batch.session_ids, dense)
        self._grow()
        follows = prev >= 0
        np.add.at(self.clicks, dense, 1)
        weights = self._recency(batch.times)
        if self.half_life_s is not None:
            np.add.at(self.weights, dense, weights)
        if self.transitions and follows.any():
            keys = (prev[follows] << KEY_SHIFT) | dense[follows]
            values = weights[follows] if self.half_life_s is not None else np.ones(len(keys))
            self.pending.append((keys, values))
        self.last_time = float(np.fmax(self.last_time, batch.times[-1]))
        self.learned += len(batch)

    def publish(self, budget_s: float | None = None) -> tuple[Any, UpdateReport]:
        """The model of every click learned so far, on the grown catalog."""
        started = time.perf_counter()
        before = len(self._published)
        self._published = self.items.published(self._published)
        self._merge()
        model = self.make_model(self)
        report = UpdateReport(
            seconds=time.perf_counter() - started,
            clicks_learned=self.learned,
            new_items=len(self._published) - before,
            catalog_size=len(self._published),
            kind=self.update_kind,
        )
        self.learned = 0
        return model, report

    def transition_table(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(from, to, count or weight) of every transition learned, sorted by (from, to)."""
        self._merge()
        return self.keys >> KEY_SHIFT, self.keys & KEY_MASK, self.values

    def scaled(self, values: np.ndarray) -> np.ndarray:
        """Recency weights rescaled by a power of two so that the latest click weighs in
        (0.5, 1] (exact: ranks and ratios are those of the kept weights)."""
        if math.isnan(self.reference):
            return values.copy()
        exponent = math.floor((self.last_time - self.reference) / self._half_life())
        return np.ldexp(values, -exponent)

    def state(self) -> dict[str, Any]:
        """Everything needed to resume (after a publish, nothing is pending)."""
        self._merge()
        sessions = np.fromiter(self.last, np.int64, len(self.last))
        return {
            "architecture": self._architecture,
            "catalog": torch.from_numpy(self._published.item_ids.copy()),
            "raw": self.items.state(),
            "sessions": torch.from_numpy(sessions),
            "session_last": torch.tensor(list(self.last.values()), dtype=torch.int64),
            "clicks": torch.from_numpy(self.clicks.copy()),
            "weights": torch.from_numpy(self.weights.copy()),
            "keys": torch.from_numpy(self.keys.copy()),
            "values": torch.from_numpy(self.values.copy()),
            "reference": self.reference,
            "last_time": self.last_time,
            "learned": self.learned,
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Become the learner ``state()`` captured (``ValueError`` for another model's)."""
        if state.get("architecture") != self._architecture:
            raise ValueError(
                f"a {state.get('architecture')!r} learner's state cannot restore "
                f"{self.architecture}"
            )
        self._published = Catalog(state["catalog"].numpy())
        self.items = LearnedItems.restored(state["raw"])
        self.last = dict(
            zip(state["sessions"].tolist(), state["session_last"].tolist(), strict=True)
        )
        self.clicks = state["clicks"].numpy().copy()
        self.weights = state["weights"].numpy().copy()
        self.keys = state["keys"].numpy().copy()
        self.values = state["values"].numpy().copy()
        self.pending = []
        self.reference = float(state["reference"])
        self.last_time = float(state["last_time"])
        self.learned = int(state["learned"])

    def _previous(self, sessions: np.ndarray, dense: np.ndarray) -> np.ndarray:
        """Each click's previous click in its session (dense id, -1 for a first click)."""
        prev = np.empty(len(sessions), np.int64)
        last = self.last
        for k, (session, item) in enumerate(zip(sessions.tolist(), dense.tolist(), strict=True)):
            prev[k] = last.get(session, -1)
            last[session] = item
        return prev

    def _grow(self) -> None:
        """Count arrays as long as the catalog learned so far."""
        extra = len(self.items) - len(self.clicks)
        if extra > 0:
            self.clicks = np.concatenate([self.clicks, np.zeros(extra, np.int64)])
            self.weights = np.concatenate([self.weights, np.zeros(extra)])
            if self.category is not None:  # new items: a category of their own
                self.category = np.concatenate([self.category, np.full(extra, -1, np.int64)])

    def _half_life(self) -> float:
        return float(self.half_life_s or 1.0)

    def _recency(self, times: np.ndarray) -> np.ndarray:
        """Each click's weight ``2 ** ((t - reference) / half-life)`` (ones without
        recency or without click times)."""
        if self.half_life_s is None or np.isnan(times).all():
            return np.ones(len(times))
        if math.isnan(self.reference):
            self.reference = float(times[0])
        exponent = (float(times.max()) - self.reference) / self.half_life_s
        if exponent > REBASE_EXPONENT:  # move the reference by whole half-lives: exact
            shift = math.floor(exponent - 1.0)
            self.weights = np.ldexp(self.weights, -shift)
            self._merge()
            self.values = np.ldexp(self.values, -shift)
            self.reference += shift * self.half_life_s
        return np.exp2((times - self.reference) / self.half_life_s)

    def _merge(self) -> None:
        """Fold the pending transitions into the sorted table."""
        if not self.pending:
            return
        keys = np.concatenate([self.keys, *(k for k, _ in self.pending)])
        values = np.concatenate([self.values, *(v for _, v in self.pending)])
        self.pending = []
        self.keys, inverse = np.unique(keys, return_inverse=True)
        self.values = np.bincount(inverse, values, len(self.keys)).astype(np.float64)
