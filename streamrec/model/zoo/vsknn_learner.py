"""How ``vsknn`` learns from the stream: its session index gains sessions and clicks.

The index V-SKNN votes with (``zoo.vsknn``) is every session's distinct items, sessions
oldest first, and each item's idf over its clicks. The learner keeps them as sorted
``(session rank << 32) | item`` keys: a session gets its rank at its first click (ranks follow
first clicks in time, as the one-pass fit orders sessions by start time), and a session still
open at a boundary gains its later clicks at the next one. A published version is the index
``fit_vsknn`` builds from every session learned so far (``exact``); a session counts from its
first click (the fit indexes sessions with two clicks or more: the sessions of its examples).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from streamrec.model.zoo.item_ids import LearnedItems
from streamrec.model.zoo.updates import Catalog, ClickBatch, LearnerStart, UpdateReport

KEY_SHIFT = np.int64(32)
KEY_MASK = np.int64((1 << 32) - 1)
# (n_items, session_ptr, session_items, idf) -> the published model
IndexBuilder = Callable[[int, np.ndarray, np.ndarray, np.ndarray], Any]


class SessionIndexLearner:
    """The ``StreamLearner`` of ``vsknn`` (see the module docstring)."""

    architecture = "vsknn"
    update_kind = "exact"

    def __init__(self, start: LearnerStart, build: IndexBuilder) -> None:
        self.build = build
        self._published = start.catalog
        self.items = LearnedItems(start.catalog)
        self.rank: dict[int, int] = {}  # session key -> its rank (order of first clicks)
        self.keys = np.zeros(0, np.int64)  # sorted distinct (rank, item) keys
        self.pending: list[np.ndarray] = []
        self.clicks = np.zeros(len(self.items), np.int64)
        self.learned = 0
        self.learn(start.history)
        self.learned = 0

    @property
    def catalog(self) -> Catalog:
        """The catalog of the last published version."""
        return self._published

    def learn(self, batch: ClickBatch) -> None:
        """Index the clicks of ``batch`` (each session's clicks in order)."""
        if not len(batch):
            return
        dense = self.items.dense_ids(batch.items)
        rank = self.rank
        ranks = np.fromiter(
            (rank.setdefault(s, len(rank)) for s in batch.session_ids.tolist()),
            np.int64,
            len(batch),
        )
        if len(self.items) > len(self.clicks):
            self.clicks = np.concatenate(
                [self.clicks, np.zeros(len(self.items) - len(self.clicks), np.int64)]
            )
        np.add.at(self.clicks, dense, 1)
        self.pending.append((ranks << KEY_SHIFT) | dense)
        self.learned += len(batch)

    def publish(self, budget_s: float | None = None) -> tuple[Any, UpdateReport]:
        """The index of every session learned so far, on the grown catalog."""
        started = time.perf_counter()
        before = len(self._published)
        self._published = self.items.published(self._published)
        self._merge()
        n_sessions = len(self.rank)
        sessions, items = self.keys >> KEY_SHIFT, self.keys & KEY_MASK
        ptr = np.concatenate([[0], np.cumsum(np.bincount(sessions, minlength=n_sessions))])
        with np.errstate(divide="ignore"):
            idf = np.where(self.clicks > 0, np.log(n_sessions / np.maximum(self.clicks, 1)), 0.0)
        model = self.build(len(self.items), ptr.astype(np.int64), items, idf)
        report = UpdateReport(
            seconds=time.perf_counter() - started,
            clicks_learned=self.learned,
            new_items=len(self._published) - before,
            catalog_size=len(self._published),
            kind=self.update_kind,
        )
        self.learned = 0
        return model, report

    def state(self) -> dict[str, Any]:
        """Everything needed to resume."""
        self._merge()
        return {
            "architecture": self.architecture,
            "catalog": torch.from_numpy(self._published.item_ids.copy()),
            "raw": self.items.state(),
            "sessions": torch.tensor(list(self.rank), dtype=torch.int64),
            "keys": torch.from_numpy(self.keys.copy()),
            "clicks": torch.from_numpy(self.clicks.copy()),
            "learned": self.learned,
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Become the learner ``state()`` captured."""
        if state.get("architecture") != self.architecture:
            raise ValueError(
                f"a {state.get('architecture')!r} learner's state cannot restore vsknn"
            )
        self._published = Catalog(state["catalog"].numpy())
        self.items = LearnedItems.restored(state["raw"])
        self.rank = {int(s): k for k, s in enumerate(state["sessions"].tolist())}
        self.keys = state["keys"].numpy().copy()
        self.pending = []
        self.clicks = state["clicks"].numpy().copy()
        self.learned = int(state["learned"])

    def _merge(self) -> None:
        if self.pending:
            self.keys = np.unique(np.concatenate([self.keys, *self.pending]))
            self.pending = []
