"""The item ids a stream learner has seen: raw id -> dense id, growing as clicks come.

Every learner keeps the same map: the published catalog's ids first, each new raw id getting
the next dense id in first-seen order, so a version's catalog is always a prefix of the next
one's (``updates.Catalog``: a catalog only grows).
"""

from __future__ import annotations

import numpy as np
import torch

from streamrec.model.zoo.updates import Catalog


class LearnedItems:
    """Raw item ids in dense-id order (``raw``) and their inverse (``dense``)."""

    def __init__(self, catalog: Catalog) -> None:
        self.raw: list[int] = catalog.to_list()
        self.dense: dict[int, int] = {r: i for i, r in enumerate(self.raw)}

    def __len__(self) -> int:
        return len(self.raw)

    def dense_ids(self, items: np.ndarray) -> np.ndarray:
        """Dense id of each raw item of ``items``, unseen ones appended in order."""
        out = np.empty(len(items), np.int64)
        dense, raw = self.dense, self.raw
        for k, item in enumerate(items.tolist()):
            found = dense.get(item)
            if found is None:
                found = dense[item] = len(raw)
                raw.append(item)
            out[k] = found
        return out

    def published(self, catalog: Catalog) -> Catalog:
        """``catalog`` extended by every item seen since it was published."""
        if len(self.raw) > len(catalog):
            return catalog.extended(self.raw[len(catalog) :])
        return catalog

    def state(self) -> torch.Tensor:
        """The raw ids, for a learner's state."""
        return torch.tensor(self.raw, dtype=torch.int64)

    @classmethod
    def restored(cls, raw: torch.Tensor) -> LearnedItems:
        """The map of a ``state()`` tensor."""
        items = cls(Catalog(np.zeros(0, np.int64)))
        items.raw = [int(x) for x in raw.tolist()]
        items.dense = {r: i for i, r in enumerate(items.raw)}
        return items
