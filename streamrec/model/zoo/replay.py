"""The sessions a neural learner keeps: what each update trains on, and its replay sample.

A fine-tune (``zoo.finetune``) trains on the sessions touched since the last version, each
with every click it has so far (a session still open at the boundary included; it is trained
again, longer, at the next update), plus a replay sample of older sessions so the network
does not forget what it knew. ``SessionStore`` keeps every session's clicks (dense ids) in
the order sessions first appear, which sessions were touched, and draws the replay sample:
``replay_sessions`` of the untouched sessions with two clicks or more, uniformly, with a
generator seeded by the run's seed and the update's number, so two learners that saw the same
clicks draw the same sample (online = offline).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch


class SessionStore:
    """Every session's clicks, in first-click order, and the ones touched since ``clear``."""

    def __init__(self) -> None:
        self.index: dict[int, int] = {}  # session key -> its position in first-click order
        self.keys: list[int] = []
        self.clicks: list[list[int]] = []
        self.touched: dict[int, None] = {}  # positions, in the order they were touched

    def __len__(self) -> int:
        return len(self.clicks)

    def add(self, session_ids: np.ndarray, dense_items: np.ndarray) -> None:
        """Append each click (dense id) to its session, in order."""
        index, clicks, touched = self.index, self.clicks, self.touched
        for session, item in zip(session_ids.tolist(), dense_items.tolist(), strict=True):
            where = index.get(session)
            if where is None:
                where = index[session] = len(clicks)
                self.keys.append(session)
                clicks.append([])
            clicks[where].append(item)
            touched[where] = None

    def clear_touched(self) -> None:
        """Forget which sessions were touched (after an update used them)."""
        self.touched = {}

    def touched_sessions(self) -> list[list[int]]:
        """The touched sessions with two clicks or more (something to predict), in the order
        they were first touched since the last ``clear_touched``."""
        return [self.clicks[i] for i in self.touched if len(self.clicks[i]) >= 2]

    def replay(self, n: int, rng: np.random.Generator) -> list[list[int]]:
        """``n`` untouched sessions with two clicks or more, drawn uniformly without
        replacement (all of them when there are fewer), in first-click order."""
        if n <= 0 or not self.clicks:
            return []
        lengths = np.fromiter((len(c) for c in self.clicks), np.int64, len(self.clicks))
        eligible = lengths >= 2
        if self.touched:
            eligible[np.fromiter(self.touched, np.int64, len(self.touched))] = False
        candidates = np.flatnonzero(eligible)
        if len(candidates) > n:
            candidates = np.sort(rng.choice(candidates, size=n, replace=False))
        return [self.clicks[i] for i in candidates.tolist()]

    def state(self) -> dict[str, Any]:
        """The store as tensors (keys, lengths, flat clicks, touched positions)."""
        lengths = [len(c) for c in self.clicks]
        flat = [item for c in self.clicks for item in c]
        return {
            "keys": torch.tensor(self.keys, dtype=torch.int64),
            "lengths": torch.tensor(lengths, dtype=torch.int64),
            "clicks": torch.tensor(flat, dtype=torch.int64),
            "touched": torch.tensor(list(self.touched), dtype=torch.int64),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> SessionStore:
        """The store ``state()`` captured."""
        store = cls()
        keys = [int(k) for k in state["keys"].tolist()]
        lengths = state["lengths"].tolist()
        flat = state["clicks"].tolist()
        store.keys = keys
        store.index = {k: i for i, k in enumerate(keys)}
        ends = np.cumsum(lengths).tolist()
        starts = [0, *ends[:-1]]
        store.clicks = [flat[a:b] for a, b in zip(starts, ends, strict=True)]
        store.touched = dict.fromkeys(int(i) for i in state["touched"].tolist())
        return store
