"""The served model: a checkpoint's streaming scorer, its catalog, and top-K for a batch.

Events carry the catalog's own item ids; the model works on dense ids. ``Catalog`` maps
between them with the mapping stored in the checkpoint. How windows are scored (incremental
or full recomputation) is the model package's business (``model.streaming``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from streamrec.model.evaluation.ranking import TOP_K, tail_ties
from streamrec.model.scoring import CacheCounters, ScoreRequest
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
    ) -> None:
        self.scorer, self.meta = load_streaming_scorer(model_path, scoring, cache_bytes, device)
        self.max_len = self.meta.max_len
        self.catalog = Catalog(self.meta.n_items, self.meta.item_ids)

    @property
    def mode(self) -> str:
        """How clicks are scored: 'incremental' or 'full'."""
        return self.scorer.mode

    @property
    def model_version(self) -> str:
        """Label of the served model."""
        return self.meta.model_version

    def cache_counters(self) -> CacheCounters | None:
        """The scorer's cache counters since the last call (None: it keeps no state)."""
        return self.scorer.cache_counters()

    def cached_sessions(self) -> int:
        """Sessions whose state the scorer holds now."""
        return self.scorer.cached_sessions()

    def top_k(
        self, sessions: Sequence[str], windows: Sequence[Sequence[int]], k: int = TOP_K
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(items, scores, tail ties): items and scores (len(windows), k), best first, dense
        ids; per window, how many items outside its top-K tie with its K-th score.

        ``windows[i]`` is session ``sessions[i]``'s window of dense ids, oldest first, after
        the click being scored (1..max_len ids). A session may appear several times, in click
        order.
        """
        requests = [
            ScoreRequest(key, tuple(window)) for key, window in zip(sessions, windows, strict=True)
        ]
        logits = self.scorer.score_requests(requests)
        scores, items = logits.topk(k, dim=1)
        ties = tail_ties(logits, scores)
        return items.cpu().numpy(), scores.cpu().numpy(), ties.cpu().numpy()
