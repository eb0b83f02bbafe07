"""The served model: a checkpoint's streaming scorer, its catalog, and top-K for a batch.

Events carry the catalog's own (raw) item ids, and so do the session windows and top-Ks kept
in Redis; the model works on dense ids. ``Catalog`` maps between them with the mapping stored
in the checkpoint: a window is mapped when it is scored (items the model does not know are
left out, then the last ``max_len`` kept), and a top-K is mapped back before it is stored or
sent. So the state in Redis means the same to every model and every version of one. How
windows are scored (incremental or full recomputation) is the model package's business
(``model.streaming``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from streamrec.model.evaluation.ranking import TOP_K
from streamrec.model.scoring import CacheCounters, ScoreRequest, streaming_top_k
from streamrec.model.streaming import load_streaming_scorer


class Catalog:
    """Maps the event's item ids to the model's dense ids and back."""

    def __init__(self, n_items: int, item_ids: list[int] | None) -> None:
        self.n_items = n_items
        self.external = np.asarray(item_ids, dtype=np.int64) if item_ids is not None else None
        self._to_dense = (
            {int(x): i for i, x in enumerate(item_ids)} if item_ids is not None else None
        )

    def to_dense(self, item_id: int) -> int | None:
        """Dense id of an event's item, or None if the model does not know it."""
        if self._to_dense is not None:
            return self._to_dense.get(item_id)
        return item_id if 0 <= item_id < self.n_items else None

    def knows(self, item_id: int) -> bool:
        """Whether the model knows an event's item."""
        return self.to_dense(item_id) is not None

    def dense_window(self, window: Sequence[int], max_len: int) -> list[int]:
        """A window of raw ids as the model scores it: its last ``max_len`` clicks as dense
        ids, -1 for an item the model does not know (scored as padding in its place, as
        offline prequential evaluation does)."""
        tail = window[-max_len:]
        if self._to_dense is None:
            n = self.n_items
            return [x if 0 <= x < n else -1 for x in tail]
        get = self._to_dense.get
        return [get(x, -1) for x in tail]

    def to_external_rows(self, dense: np.ndarray) -> np.ndarray:
        """The event-side ids of an array of dense ids (same shape, one numpy call)."""
        if self.external is None:
            return dense
        return self.external[dense]


class ServedModel:
    """Top-K for a batch of session windows, with the checkpoint's catalog."""

    def __init__(
        self,
        model_path: Path,
        device: str | torch.device = "cpu",
        scoring: str = "incremental",
        cache_bytes: int = 256 << 20,
        label: str | None = None,
        retrieval: str = "exact",
        candidates: int = 200,
        ann_probes: int = 0,
    ) -> None:
        """``label``: the label recommendations and metrics carry (a followed version's);
        default: the checkpoint's ``model_version``. ``retrieval``: 'exact' or 'ann' (with
        ``candidates`` re-scored per click, ``ann_probes`` IVF lists scanned; 0: by catalog
        size)."""
        self.scorer, self.meta = load_streaming_scorer(
            model_path, scoring, cache_bytes, device, retrieval, candidates, ann_probes
        )
        self.max_len = self.meta.max_len
        self.catalog = Catalog(self.meta.n_items, self.meta.item_ids)
        self.label = label

    @property
    def mode(self) -> str:
        """How clicks are scored: 'incremental', 'full' or 'ann'."""
        return self.scorer.mode

    @property
    def model_version(self) -> str:
        """Label of the served model."""
        return self.label or self.meta.model_version

    def cache_counters(self) -> CacheCounters | None:
        """The scorer's cache counters since the last call (None: it keeps no state)."""
        return self.scorer.cache_counters()

    def cached_sessions(self) -> int:
        """Sessions whose state the scorer holds now."""
        return self.scorer.cached_sessions()

    def top_k(
        self, sessions: Sequence[str], windows: Sequence[Sequence[int]], k: int = TOP_K
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(items, scores, tail ties): items and scores (len(windows), k), best first, as raw
        item ids; per window, how many items outside its top-K tie with its K-th score.

        ``windows[i]`` is session ``sessions[i]``'s window of raw item ids, oldest first,
        after the click being scored (``Catalog.dense_window`` maps it). A session may
        appear several times, in click order.
        """
        dense = self.catalog.dense_window
        max_len = self.max_len
        requests = [
            ScoreRequest(key, tuple(dense(window, max_len)))
            for key, window in zip(sessions, windows, strict=True)
        ]
        top = streaming_top_k(self.scorer, requests, k)
        raw = self.catalog.to_external_rows(top.items.cpu().numpy())
        return raw, top.scores.cpu().numpy(), top.ties.cpu().numpy()


def top_k_by_model(
    models: Sequence[ServedModel],
    assignment: Sequence[int],
    sessions: Sequence[str],
    windows: Sequence[Sequence[int]],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``ServedModel.top_k`` of every row, row ``r`` from ``models[assignment[r]]``; each
    model gets its rows in batch order, so a session's clicks stay in order for its scorer."""
    if len(models) == 1:
        return models[0].top_k(sessions, windows)
    chosen = np.asarray(assignment, dtype=np.int64)
    parts = []
    for index, model in enumerate(models):
        rows = np.flatnonzero(chosen == index)
        if rows.size:
            picked = rows.tolist()
            result = model.top_k([sessions[r] for r in picked], [windows[r] for r in picked])
            parts.append((rows, result))
    if len(parts) == 1:
        return parts[0][1]
    merged = []
    for i in range(3):
        dtype = np.result_type(*(result[i] for _, result in parts))
        out = np.empty((len(chosen), *parts[0][1][i].shape[1:]), dtype=dtype)
        for rows, result in parts:
            out[rows] = result[i]
        merged.append(out)
    return merged[0], merged[1], merged[2]
