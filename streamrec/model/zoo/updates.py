"""Learning from the stream: the interfaces every architecture's update meets (issue 20).

A ``StreamLearner`` holds a copy of a model and the history it needs, takes clicks in event-time
order (``learn``), and at each refresh boundary turns what it has learned into a servable model
(``publish``): version 0 is the trained model (or the model of the history), version k the
model of every click before the k-th boundary. The offline prequential evaluator
(``model.evaluation.prequential``) and the online learner service drive the same learners, so
online equals offline.

Item ids: a ``ClickBatch`` carries RAW item ids, as the log and the click events have them.
The ``Catalog`` maps them to the dense ids the models use (``0..len-1``); it only grows:
``extended`` appends unseen ids in first-seen order, and every id keeps its dense id, so the
sessions kept in Redis as dense ids stay valid across versions. A catalog's ``item_ids`` list
is exactly what a click-log checkpoint stores as ``item_ids`` (``CheckpointMeta.item_ids``).

Each architecture declares how it updates (``UPDATE_KINDS``): ``exact`` (count models: the
published model equals the model refitted from scratch on every click learned) or
``fine-tune`` (neural models: warm weights trained further within a time budget). A zoo
``Architecture`` with no learner cannot update; ``learner_for`` (``model.zoo``) says so.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from streamrec.config import Settings
from streamrec.refresh import NEVER, parse_refresh, refresh_label

UPDATE_KINDS = ("exact", "fine-tune")
__all__ = [
    "NEVER", "UPDATE_KINDS", "Catalog", "ClickBatch", "LearnerStart", "StreamLearner",
    "UpdateReport", "learn_in_time_order", "parse_refresh", "refresh_label",
]  # fmt: skip


@dataclass(frozen=True)
class ClickBatch:
    """Clicks in event-time order (ties in time keep log order): ``session_ids`` (int64 keys,
    one per session of the stream), ``items`` (int64 RAW item ids), ``times`` (float64 unix
    seconds). The three arrays have one entry per click."""

    session_ids: np.ndarray
    items: np.ndarray
    times: np.ndarray

    def __post_init__(self) -> None:
        sessions = np.asarray(self.session_ids, dtype=np.int64)
        items = np.asarray(self.items, dtype=np.int64)
        times = np.asarray(self.times, dtype=np.float64)
        if not len(sessions) == len(items) == len(times):
            raise ValueError(
                f"a click batch needs one session, item and time per click, got "
                f"{len(sessions)}, {len(items)} and {len(times)}"
            )
        if len(times) and (np.isnan(times).any() or (np.diff(times) < 0).any()):
            raise ValueError("a click batch's times must be known and in event-time order")
        object.__setattr__(self, "session_ids", sessions)
        object.__setattr__(self, "items", items)
        object.__setattr__(self, "times", times)

    def __len__(self) -> int:
        return len(self.items)

    @classmethod
    def empty(cls) -> ClickBatch:
        """No clicks."""
        return cls(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))

    def slice(self, start: int, stop: int) -> ClickBatch:
        """Clicks ``start..stop-1`` (still in time order)."""
        return ClickBatch(
            self.session_ids[start:stop], self.items[start:stop], self.times[start:stop]
        )

    def before(self, boundary: float) -> int:
        """How many leading clicks have a time strictly before ``boundary``."""
        return int(np.searchsorted(self.times, boundary, side="left"))

    @classmethod
    def concat(cls, batches: Sequence[ClickBatch]) -> ClickBatch:
        """One batch of several consecutive ones (``ValueError`` when times go backwards)."""
        if not batches:
            return cls.empty()
        return cls(
            np.concatenate([b.session_ids for b in batches]),
            np.concatenate([b.items for b in batches]),
            np.concatenate([b.times for b in batches]),
        )


@dataclass(frozen=True)
class Catalog:
    """The growing raw-id -> dense-id mapping: ``item_ids[dense]`` is the raw id."""

    item_ids: np.ndarray
    _index: dict[int, int] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        ids = np.asarray(self.item_ids, dtype=np.int64)
        object.__setattr__(self, "item_ids", ids)
        index = {int(raw): dense for dense, raw in enumerate(ids.tolist())}
        if len(index) != len(ids):
            raise ValueError("a catalog names each raw item id once")
        object.__setattr__(self, "_index", index)

    def __len__(self) -> int:
        return len(self.item_ids)

    @classmethod
    def of(cls, raw_items: Iterable[int]) -> Catalog:
        """The catalog of ``raw_items`` in first-seen order."""
        return cls(np.zeros(0, np.int64)).extended(raw_items)

    def extended(self, raw_items: Iterable[int]) -> Catalog:
        """This catalog with the unseen ids of ``raw_items`` appended in first-seen order
        (itself when there are none); existing ids keep their dense ids."""
        new: dict[int, None] = {}
        values = raw_items if isinstance(raw_items, np.ndarray) else list(raw_items)
        for raw in np.asarray(values, dtype=np.int64).tolist():
            if raw not in self._index:
                new.setdefault(raw, None)
        if not new:
            return self
        return Catalog(np.concatenate([self.item_ids, np.fromiter(new, np.int64, len(new))]))

    def dense(self, raw_items: np.ndarray) -> np.ndarray:
        """Dense id of each raw id, -1 where this catalog does not know it."""
        get = self._index.get
        return np.fromiter(
            (get(int(r), -1) for r in np.asarray(raw_items).tolist()), np.int64, len(raw_items)
        )

    def knows(self, raw_item: int) -> bool:
        """Whether ``raw_item`` has a dense id."""
        return int(raw_item) in self._index

    def to_list(self) -> list[int]:
        """The raw ids in dense order, as a checkpoint's ``item_ids`` stores them."""
        return [int(x) for x in self.item_ids]

    def extends(self, older: Catalog) -> bool:
        """Whether this catalog keeps every dense id of ``older`` (a catalog only grows)."""
        n = len(older)
        return len(self) >= n and bool(np.array_equal(self.item_ids[:n], older.item_ids))


@dataclass(frozen=True)
class UpdateReport:
    """What one ``publish`` did: wall seconds, clicks learned since the previous version,
    items new to the catalog, the catalog size after it, and the update's kind; a fine-tune
    also its optimiser steps and whether the time budget cut it short (then its weights
    depend on the machine's speed)."""

    seconds: float
    clicks_learned: int
    new_items: int
    catalog_size: int
    kind: str  # one of UPDATE_KINDS
    steps: int = 0
    cut_short: bool = False

    def as_dict(self) -> dict[str, Any]:
        """Plain values (for manifests and JSON)."""
        return {
            "seconds": self.seconds,
            "clicks_learned": self.clicks_learned,
            "new_items": self.new_items,
            "catalog_size": self.catalog_size,
            "kind": self.kind,
            "steps": self.steps,
            "cut_short": self.cut_short,
        }


class StreamLearner(Protocol):
    """A model that learns from clicks and publishes servable versions.

    Contract: ``learn`` takes every click once, in event-time order (across calls too);
    sessions may be open across boundaries (the learner keeps what it needs of each: the last
    item for Markov, the session's items for V-SKNN, recent sessions for neural replay).
    ``publish`` extends the catalog with every item learned so far and returns a model whose
    dense ids are the catalog's; it never changes an earlier version it returned.
    ``state``/``restore`` capture everything, so a learner checkpointed after ``publish`` and
    restored elsewhere publishes the same next versions (an online learner killed with
    SIGKILL resumes from it)."""

    @property
    def architecture(self) -> str:
        """The zoo name of the models it publishes."""
        ...

    @property
    def update_kind(self) -> str:
        """``exact`` or ``fine-tune`` (``UPDATE_KINDS``)."""
        ...

    @property
    def catalog(self) -> Catalog:
        """The catalog of the last published version (version 0: the trained model's)."""
        ...

    def learn(self, batch: ClickBatch) -> None:
        """Take these clicks (all with times before the next boundary)."""
        ...

    def publish(self, budget_s: float | None = None) -> tuple[Any, UpdateReport]:
        """Apply what was learned since the last version; return a ``SessionModel`` of the
        catalog and the report. ``budget_s``: the most seconds a fine-tune may take (count
        models ignore it)."""
        ...

    def state(self) -> dict[str, Any]:
        """Everything needed to resume (numpy arrays, tensors and plain values)."""
        ...

    def restore(self, state: dict[str, Any]) -> None:
        """Become the learner that ``state()`` captured."""
        ...


@dataclass
class LearnerStart:
    """What a learner starts from: the trained ``model`` (a ``SessionModel``; its dense ids
    are ``catalog``'s), the clicks it was trained on (``history``, event-time order: count
    learners rebuild their tables from it exactly, neural ones draw replay samples from it),
    and the run's settings (update budget, recency, seed)."""

    model: Any
    catalog: Catalog
    history: ClickBatch
    settings: Settings


def learn_in_time_order(learner: StreamLearner, clicks: ClickBatch, chunk: int = 200_000) -> None:
    """Feed ``clicks`` to ``learner`` in chunks (bounded memory for long histories)."""
    for start in range(0, len(clicks), chunk):
        learner.learn(clicks.slice(start, start + chunk))
