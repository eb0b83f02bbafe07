"""Ranking metrics: the one implementation used offline and online.

Everything goes through ranks. A target's rank counts every item whose score is greater than
*or equal to* its own (ties count against the target), so a constant scorer earns nothing.
Offline, ranks come from full-catalog scores (``ranks_from_scores``); online, from the stored
top-K list (``rank_in_top_k``), which gives the same rank whenever it is <= K. Both feed
``RankingTotals``, which turns ranks into Hit@10, Hit@20 and MRR@20.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported where used: `streamrec report` sums totals without loading torch
    import numpy as np
    import torch

HIT_KS: tuple[int, ...] = (10, 20)
MRR_K = 20
TOP_K = max(*HIT_KS, MRR_K)
MISS_RANK = TOP_K + 1  # any rank beyond the stored top-K


def ranks_from_scores(scores: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """1-based rank of each target among all items, ties counted against it. (B,N),(B,) -> (B,)."""
    target_scores = scores.gather(1, targets.view(-1, 1))
    return (scores >= target_scores).sum(dim=1)


def rank_in_top_k(
    items: Sequence[int], scores: Sequence[float], target: int, tail_ties: int = 0
) -> int:
    """Rank of ``target`` given a stored top-K list (items with their scores, best first).

    Ties count against the target as in ``ranks_from_scores``: ``tail_ties`` is how many items
    outside the list score exactly the list's last score (count models tie a lot), so a target
    tied with that score ranks behind them too, as it does offline. A target absent from the
    list gets ``MISS_RANK``.
    """
    for item, score in zip(items, scores):
        if item == target:
            rank = sum(1 for s in scores if s >= score)
            return rank + tail_ties if score <= scores[-1] else rank
    return MISS_RANK


def ranks_from_top_k(
    items: torch.Tensor, scores: torch.Tensor, ties: torch.Tensor, targets: torch.Tensor
) -> torch.Tensor:
    """``rank_in_top_k`` for a batch: (B, K) items and scores, (B,) tail ties and targets ->
    (B,) ranks (``MISS_RANK`` where the target is not listed). Offline evaluation of a
    scorer that retrieves candidates ranks with it, as the consumer does online."""
    import torch

    match = items == targets.view(-1, 1)
    found = match.any(dim=1)
    own = torch.where(match, scores, torch.full_like(scores, float("-inf"))).max(dim=1).values
    rank = (scores >= own.view(-1, 1)).sum(dim=1)
    rank = rank + torch.where(own <= scores[:, -1], ties, torch.zeros_like(ties))
    return torch.where(found, rank, torch.full_like(rank, MISS_RANK))


def tail_ties(scores: torch.Tensor, top_scores: torch.Tensor) -> torch.Tensor:
    """Per row, how many items outside the top-K score exactly the K-th score.
    (B, N) scores and their (B, K) top-K -> (B,)."""
    last = top_scores[:, -1:]
    return (scores == last).sum(dim=1) - (top_scores == last).sum(dim=1)


@dataclass
class RankingTotals:
    """Exact additive totals from which the metrics are rates."""

    n: int = 0
    hits_10: int = 0
    hits_20: int = 0
    rr_sum_20: float = 0.0

    @classmethod
    def from_ranks(cls, ranks: Iterable[int] | np.ndarray | torch.Tensor) -> RankingTotals:
        """Totals for a set of ranks."""
        import numpy as np
        import torch

        r = torch.as_tensor(np.asarray(ranks) if not isinstance(ranks, torch.Tensor) else ranks)
        r = r.to(torch.float64).flatten()
        return cls(
            n=int(r.numel()),
            hits_10=int((r <= 10).sum()),
            hits_20=int((r <= 20).sum()),
            rr_sum_20=float(torch.where(r <= MRR_K, 1.0 / r, torch.zeros_like(r)).sum()),
        )

    @classmethod
    def from_rank(cls, rank: int) -> RankingTotals:
        """Totals for one rank (``from_ranks([rank])`` without array overhead, for the
        consumer's per-event path; a test holds the two equal)."""
        return cls(
            n=1,
            hits_10=int(rank <= HIT_KS[0]),
            hits_20=int(rank <= HIT_KS[1]),
            rr_sum_20=1.0 / rank if rank <= MRR_K else 0.0,
        )

    def __add__(self, other: RankingTotals) -> RankingTotals:
        return RankingTotals(
            self.n + other.n,
            self.hits_10 + other.hits_10,
            self.hits_20 + other.hits_20,
            self.rr_sum_20 + other.rr_sum_20,
        )

    def metrics(self) -> dict[str, float]:
        """Hit@10, Hit@20, MRR@20 (0.0 when empty) and the example count."""
        n = max(self.n, 1)
        return {
            "hit_at_10": self.hits_10 / n,
            "hit_at_20": self.hits_20 / n,
            "mrr_at_20": self.rr_sum_20 / n,
            "n_examples": self.n,
        }


@dataclass
class GroupedTotals:
    """Totals overall and per group label (the session's behaviour)."""

    total: RankingTotals = field(default_factory=RankingTotals)
    groups: dict[str, RankingTotals] = field(default_factory=dict)

    def add(self, ranks: torch.Tensor | np.ndarray, labels: Sequence[str | None]) -> None:
        """Add ranks, each with its group label (None: counted in the total only)."""
        import numpy as np
        import torch

        ranks_np = np.asarray(ranks.cpu() if isinstance(ranks, torch.Tensor) else ranks)
        self.total = self.total + RankingTotals.from_ranks(ranks_np)
        labels_np = np.asarray(labels, dtype=object)
        for label in {lbl for lbl in labels if lbl is not None}:
            part = RankingTotals.from_ranks(ranks_np[labels_np == label])
            self.groups[label] = self.groups.get(label, RankingTotals()) + part

    def report(self) -> dict[str, object]:
        """The JSON shape ``streamrec evaluate --json`` prints."""
        out: dict[str, object] = dict(self.total.metrics())
        out["per_behavior"] = {k: self.groups[k].metrics() for k in sorted(self.groups)}
        return out
