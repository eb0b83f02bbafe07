"""Online scoring: the trained model over left-padded windows, batched, with the catalog map."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from streamrec.model.checkpoint import CheckpointMeta, load_checkpoint
from streamrec.model.evaluation import score_windows
from streamrec.model.examples import left_pad_window
from streamrec.model.metrics import TOP_K


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
    """Top-K for a batch of session prefixes in one forward pass."""

    def __init__(self, model_path: Path, device: str | torch.device = "cpu") -> None:
        model, meta = load_checkpoint(model_path, device=device)
        self.model = model
        self.meta: CheckpointMeta = meta
        self.device = torch.device(device)
        self.max_len = meta.max_len
        self.catalog = Catalog(meta.config.n_items, meta.item_ids)

    @property
    def model_version(self) -> str:
        """Label of the served model."""
        return self.meta.model_version

    def top_k(self, prefixes: list[list[int]], k: int = TOP_K) -> tuple[np.ndarray, np.ndarray]:
        """(items, scores), each (len(prefixes), k), best first, for non-empty dense prefixes."""
        windows = np.stack([left_pad_window(p, self.max_len) for p in prefixes])
        lengths = np.minimum(np.array([len(p) for p in prefixes]), self.max_len)
        logits = score_windows(self.model, windows, lengths, self.device)
        scores, items = logits.topk(k, dim=1)
        return items.cpu().numpy(), scores.cpu().numpy()
