"""Online scoring: the trained model over session windows, batched, with the catalog map.

Two exact ways to score a click (``Settings.scoring``):

``incremental`` (default): one LSTM step from the session's cached state
(``model.incremental``); needs a model trained with ``window_start='zero'``.
``full``: recompute every window (``score_windows``, the offline evaluation's path). Models
trained with ``window_start='padding'`` (the seed's) are always scored this way, because their
state at every click depends on the padding length and cannot be carried forward.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from streamrec.model.checkpoint import CheckpointMeta, load_checkpoint
from streamrec.model.data.examples import left_pad_window
from streamrec.model.evaluation.evaluate import score_windows
from streamrec.model.evaluation.ranking import TOP_K
from streamrec.model.networks.incremental import IncrementalScorer, ScoreRequest

log = logging.getLogger("streamrec.consumer")


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

    def to_external(self, dense: list[int]) -> list[int]:
        """The event-side ids of dense ids."""
        if self.external is None:
            return dense
        return [int(x) for x in self.external[dense]]


class OnlineScorer:
    """Top-K for a batch of session windows."""

    def __init__(
        self,
        model_path: Path,
        device: str | torch.device = "cpu",
        scoring: str = "incremental",
        cache_bytes: int = 256 << 20,
    ) -> None:
        model, meta = load_checkpoint(model_path, device=device)
        self.model = model.eval()
        self.meta: CheckpointMeta = meta
        self.device = torch.device(device)
        self.max_len = meta.max_len
        self.catalog = Catalog(meta.config.n_items, meta.item_ids)
        self.incremental: IncrementalScorer | None = None
        if scoring == "incremental" and model.zero_start:
            self.incremental = IncrementalScorer(model, self.max_len, cache_bytes, self.device)
        elif scoring == "incremental":
            log.warning(
                "%s was trained with window_start='padding': its state at each click depends "
                "on the padding, so every window is recomputed (train with --window-start "
                "zero for incremental scoring)",
                model_path,
            )

    @property
    def mode(self) -> str:
        """How clicks are scored: 'incremental' or 'full'."""
        return "incremental" if self.incremental is not None else "full"

    @property
    def model_version(self) -> str:
        """Label of the served model."""
        return self.meta.model_version

    def top_k(
        self, sessions: Sequence[str], windows: Sequence[Sequence[int]], k: int = TOP_K
    ) -> tuple[np.ndarray, np.ndarray]:
        """(items, scores), each (len(windows), k), best first.

        ``windows[i]`` is session ``sessions[i]``'s window of dense ids, oldest first, after
        the click being scored (1..max_len ids). A session may appear several times, in click
        order.
        """
        if self.incremental is not None:
            shift = (1).__add__  # model ids are dense ids + 1 (0 is padding)
            requests = [
                ScoreRequest(key, tuple(map(shift, window)))
                for key, window in zip(sessions, windows, strict=True)
            ]
            logits = self.incremental.score(requests)
        else:
            padded = np.stack([left_pad_window(w, self.max_len) for w in windows])
            lengths = np.array([len(w) for w in windows])
            logits = score_windows(self.model, padded, lengths, self.device)
        scores, items = logits.topk(k, dim=1)
        return items.cpu().numpy(), scores.cpu().numpy()
