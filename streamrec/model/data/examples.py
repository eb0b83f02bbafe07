"""Prefix examples exactly as the seed builds them, and the two split protocols.

For a session ``[i1, ..., iT]`` the examples are ``([i1..it], i_{t+1})`` for t = 1..T-1; the
input window holds the last ``max_len`` items shifted by one (0 is padding), left-padded with
zeros; targets stay 0-based. ``left_pad_window`` is the one place that builds a window, used
offline here and online by the consumer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from streamrec.config import SPLITS

MAX_LEN = 25
SplitProtocol = Literal["session", "example"]
SPLIT_PROTOCOLS = SPLITS
VALIDATION_FRACTION = 0.2


def left_pad_window(prefix: Sequence[int], max_len: int = MAX_LEN) -> np.ndarray:
    """Model input for a prefix of 0-based item ids: last ``max_len`` ids + 1, left-padded."""
    window = np.zeros(max_len, dtype=np.int64)
    tail = np.asarray(prefix[-max_len:], dtype=np.int64) + 1
    if len(tail):
        window[max_len - len(tail) :] = tail
    return window


@dataclass
class PrefixExamples:
    """A set of prefix examples as parallel arrays.

    ``windows`` (N, max_len) shifted, left-padded ids; ``lengths`` real items per window;
    ``targets`` 0-based next items; ``session_index`` the source session; ``position`` the
    target's 0-based position in its session (the event ``seq`` it will be scored at online).
    """

    windows: np.ndarray
    lengths: np.ndarray
    targets: np.ndarray
    session_index: np.ndarray
    position: np.ndarray

    def __len__(self) -> int:
        return len(self.targets)

    def subset(self, index: np.ndarray) -> PrefixExamples:
        """The examples at ``index`` (in that order)."""
        return PrefixExamples(
            self.windows[index],
            self.lengths[index],
            self.targets[index],
            self.session_index[index],
            self.position[index],
        )


def build_examples(sessions: Sequence[Sequence[int]], max_len: int = MAX_LEN) -> PrefixExamples:
    """All prefix examples of ``sessions`` in the seed's order (by session, t ascending)."""
    windows, lengths, targets, sess_idx, positions = [], [], [], [], []
    for s, session in enumerate(sessions):
        n = len(session)
        if n < 2:
            continue
        shifted = np.asarray(session, dtype=np.int64) + 1
        padded = np.concatenate([np.zeros(max_len, dtype=np.int64), shifted])
        # Row t-1 covers padded[t : t+max_len] == the last max_len items before position t.
        view = np.lib.stride_tricks.sliding_window_view(padded, max_len)[1:n]
        windows.append(view)
        t = np.arange(1, n)
        lengths.append(np.minimum(t, max_len))
        targets.append(np.asarray(session[1:], dtype=np.int64))
        sess_idx.append(np.full(n - 1, s, dtype=np.int64))
        positions.append(t)
    if not windows:
        empty = np.zeros(0, dtype=np.int64)
        return PrefixExamples(np.zeros((0, max_len), dtype=np.int64), empty, empty, empty, empty)
    return PrefixExamples(
        np.ascontiguousarray(np.concatenate(windows)),
        np.concatenate(lengths).astype(np.int64),
        np.concatenate(targets),
        np.concatenate(sess_idx),
        np.concatenate(positions).astype(np.int64),
    )


def example_split(n_examples: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The seed's split: ``torch.utils.data.random_split`` with a generator seeded ``seed``.

    Returns (train, validation) example indices in random_split's order.
    """
    n_val = int(VALIDATION_FRACTION * n_examples)
    perm = torch.randperm(n_examples, generator=torch.Generator().manual_seed(seed)).numpy()
    return perm[: n_examples - n_val], perm[n_examples - n_val :]


def session_split(n_sessions: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded 80/20 split of whole sessions: (train, held-out) session indices, sorted."""
    n_val = int(VALIDATION_FRACTION * n_sessions)
    perm = np.random.default_rng(seed).permutation(n_sessions)
    return np.sort(perm[n_val:]), np.sort(perm[:n_val])


def split_examples(
    examples: PrefixExamples, n_sessions: int, protocol: str, seed: int
) -> tuple[PrefixExamples, PrefixExamples]:
    """(train, validation) examples under ``protocol`` ("session" or "example")."""
    if protocol == "example":
        train_idx, val_idx = example_split(len(examples), seed)
    elif protocol == "session":
        _, held_out = session_split(n_sessions, seed)
        is_val = np.isin(examples.session_index, held_out)
        train_idx, val_idx = np.flatnonzero(~is_val), np.flatnonzero(is_val)
    else:
        raise ValueError(f"unknown split protocol {protocol!r}; choose one of {SPLIT_PROTOCOLS}")
    return examples.subset(train_idx), examples.subset(val_idx)
