"""Mean attention by position, per behaviour and prefix length, against a uniform baseline.

``AttentionProfile`` takes batches of weights (left-padded windows, as the models read them)
and keeps, per (behaviour, prefix length L), the number of prefixes, the summed weight at
each of the L positions, the summed normalised entropy and how often the peak falls on the
last or the first click. Every figure below is derived from those sums, for any union of
cells (a behaviour, a length bucket, both, or everything):

- mean weight by position from the window's first click and from its last click, beside the
  uniform baseline (mean of 1/L over the same prefixes);
- the share on the last click, on the last 3, on the first click, and the mean weight per
  middle click (neither first nor last), each with its uniform value and lift (share / uniform);
- mean normalised entropy (entropy / log L: 1 = uniform) and the peak shares.

"Prefix length" is the window's length: prefixes longer than the window (``max_len``) are
truncated to their last ``max_len`` clicks, so their first position is not the session's
first click; they are counted as ``n_truncated``. Prefixes shorter than ``MIN_LENGTH`` clicks
(where attention has at most two places to go) are counted and left out.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

MIN_LENGTH = 3
ALL = "all"
# (name, shortest, longest) prefix lengths; None: up to the window length
LENGTH_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("short", 3, 7),
    ("medium", 8, 15),
    ("long", 16, None),
)


@dataclass
class _Cell:
    """Sums over the prefixes of one behaviour and one length L."""

    length: int
    n: int = 0
    n_truncated: int = 0
    weight: np.ndarray = field(default_factory=lambda: np.zeros(0))
    entropy: float = 0.0
    peak_last: int = 0
    peak_first: int = 0

    def __post_init__(self) -> None:
        if not len(self.weight):
            self.weight = np.zeros(self.length)


def bucket_lengths(name: str, max_len: int) -> range:
    """Prefix lengths of the bucket called ``name`` (``all``: every analysed length)."""
    if name == ALL:
        return range(MIN_LENGTH, max_len + 1)
    for bucket, low, high in LENGTH_BUCKETS:
        if bucket == name:
            return range(low, (high or max_len) + 1)
    raise ValueError(f"unknown length bucket {name!r}")


class AttentionProfile:
    """Per (behaviour, prefix length) sums of attention weights; see the module docstring."""

    def __init__(self, max_len: int) -> None:
        self.max_len = max_len
        self.cells: dict[tuple[str, int], _Cell] = {}
        self.n_too_short = 0

    @property
    def behaviors(self) -> list[str]:
        """The behaviour labels seen, sorted (not ``all``, the label of unlabelled prefixes)."""
        return sorted({b for b, _ in self.cells} - {ALL})

    def add(
        self,
        weights: np.ndarray,
        lengths: np.ndarray,
        labels: Sequence[str],
        truncated: np.ndarray | None = None,
    ) -> None:
        """Add prefixes: ``weights`` (B, T) left-padded like their windows, their window
        lengths (B,), a behaviour label each, and which were cut to the window (B,)."""
        weights = np.asarray(weights, dtype=np.float64)
        lengths = np.asarray(lengths)
        cut = np.zeros(len(lengths), bool) if truncated is None else np.asarray(truncated, bool)
        width = weights.shape[1]
        labels_array = np.asarray(labels, dtype=object)
        self.n_too_short += int((lengths < MIN_LENGTH).sum())
        for length in np.unique(lengths[lengths >= MIN_LENGTH]).tolist():
            rows = lengths == length
            block = weights[rows, width - length :]  # (n, L): the clicks, first to last
            entropy = -np.where(block > 0, block * np.log(np.where(block > 0, block, 1)), 0)
            normalised = entropy.sum(axis=1) / np.log(length)
            peak = block.argmax(axis=1)
            for label in np.unique(labels_array[rows]).tolist():
                mine = labels_array[rows] == label
                cell = self.cells.setdefault((label, length), _Cell(length))
                cell.n += int(mine.sum())
                cell.n_truncated += int(cut[rows][mine].sum())
                cell.weight += block[mine].sum(axis=0)
                cell.entropy += float(normalised[mine].sum())
                cell.peak_last += int((peak[mine] == length - 1).sum())
                cell.peak_first += int((peak[mine] == 0).sum())

    def select(self, behavior: str = ALL, bucket: str = ALL) -> list[_Cell]:
        """The cells of ``behavior`` (``all``: every one) whose length is in ``bucket``."""
        lengths = set(bucket_lengths(bucket, self.max_len))
        return [
            cell
            for (label, length), cell in self.cells.items()
            if (behavior == ALL or label == behavior) and length in lengths
        ]

    def summary(self, behavior: str = ALL, bucket: str = ALL) -> dict[str, Any]:
        """The figures of the module docstring for one behaviour and length bucket."""
        return summarise(self.select(behavior, bucket), self.max_len)

    def summaries(self) -> dict[str, dict[str, dict[str, Any]]]:
        """behaviour (``all`` first) -> bucket (``all`` first) -> ``summary``."""
        buckets = [ALL, *(name for name, _, _ in LENGTH_BUCKETS)]
        return {
            behavior: {bucket: self.summary(behavior, bucket) for bucket in buckets}
            for behavior in [ALL, *self.behaviors]
        }

    def lift_grid(self, behavior: str = ALL) -> np.ndarray:
        """Mean weight x L (1 = uniform) by prefix length (rows 0..max_len) and position from
        the first click (columns); NaN where no prefix has that length."""
        grid = np.full((self.max_len + 1, self.max_len), np.nan)
        for length in bucket_lengths(ALL, self.max_len):
            cells = self.select(behavior, ALL)
            cells = [c for c in cells if c.length == length]
            n = sum(c.n for c in cells)
            if n:
                grid[length, :length] = sum(c.weight for c in cells) / n * length
        return grid


def _share(attention: float, uniform: float) -> dict[str, float]:
    return {
        "attention": float(attention),
        "uniform": float(uniform),
        "lift": float(attention / uniform) if uniform > 0 else float("nan"),
    }


def summarise(cells: Iterable[_Cell], max_len: int) -> dict[str, Any]:
    """Figures for the prefixes of ``cells`` (NaN where there are none)."""
    cells = [c for c in cells if c.n]
    n = sum(c.n for c in cells)
    by_start, by_end, uniform, count = (np.zeros(max_len) for _ in range(4))
    sums = dict.fromkeys(("last", "last_3", "first", "middle", "uniform_1", "entropy"), 0.0)
    for c in cells:
        length = c.length
        by_start[:length] += c.weight
        by_end[:length] += c.weight[::-1]
        uniform[:length] += c.n / length
        count[:length] += c.n
        sums["last"] += c.weight[-1]
        sums["last_3"] += c.weight[-3:].sum()
        sums["first"] += c.weight[0]
        sums["middle"] += c.weight[1:-1].sum() / (length - 2)
        sums["uniform_1"] += c.n / length
        sums["entropy"] += c.entropy
    mean = {k: v / n if n else float("nan") for k, v in sums.items()}
    return {
        "n_prefixes": n,
        "n_truncated": sum(c.n_truncated for c in cells),
        "mean_length": sum(c.n * c.length for c in cells) / n if n else float("nan"),
        "last_click": _share(mean["last"], mean["uniform_1"]),
        "last_3": _share(mean["last_3"], 3 * mean["uniform_1"]),
        "first_click": _share(mean["first"], mean["uniform_1"]),
        "middle_per_click": _share(mean["middle"], mean["uniform_1"]),
        "normalised_entropy": _share(mean["entropy"], 1.0),
        "peak_on_last": sum(c.peak_last for c in cells) / n if n else float("nan"),
        "peak_on_first": sum(c.peak_first for c in cells) / n if n else float("nan"),
        "by_position_from_start": _per_position(by_start, count),
        "by_position_from_end": _per_position(by_end, count),
        "uniform_by_position": _per_position(uniform, count),
        "n_by_position": [int(k) for k in count],
    }


def _per_position(sums: np.ndarray, count: np.ndarray) -> list[float | None]:
    """Means by position; None where no prefix reaches the position."""
    return [float(s / k) if k else None for s, k in zip(sums, count)]
