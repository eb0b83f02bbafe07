"""Ranks count ties against the target; online (top-K) and offline ranks agree."""

import numpy as np
import pytest
import torch

from streamrec.model.evaluation.ranking import (
    MISS_RANK,
    GroupedTotals,
    RankingTotals,
    rank_in_top_k,
    ranks_from_scores,
    tail_ties,
)


def test_ties_count_against_target() -> None:
    scores = torch.tensor([[1.0, 1.0, 1.0, 1.0], [0.0, 5.0, 3.0, 3.0]])
    ranks = ranks_from_scores(scores, torch.tensor([0, 2]))
    assert ranks.tolist() == [4, 3]


def test_constant_scorer_earns_nothing() -> None:
    scores = torch.zeros(5, 100)
    totals = RankingTotals.from_ranks(ranks_from_scores(scores, torch.arange(5)))
    assert totals.metrics()["hit_at_10"] == 0.0


def test_totals_from_ranks() -> None:
    totals = RankingTotals.from_ranks([1, 2, 10, 11, 20, 21, 500])
    assert (totals.n, totals.hits_10, totals.hits_20) == (7, 3, 5)
    assert totals.rr_sum_20 == pytest.approx(1 + 1 / 2 + 1 / 10 + 1 / 11 + 1 / 20)
    both = totals + totals
    assert both.metrics()["hit_at_10"] == pytest.approx(3 / 7)


def test_online_rank_equals_offline_rank_within_top_k() -> None:
    rng = np.random.default_rng(3)
    scores = torch.from_numpy(rng.normal(size=(200, 300)).astype(np.float32))
    targets = torch.from_numpy(rng.integers(0, 300, size=200))
    offline = ranks_from_scores(scores, targets)
    top_scores, top_items = scores.topk(20, dim=1)
    for row in range(200):
        online = rank_in_top_k(top_items[row].tolist(), top_scores[row].tolist(), int(targets[row]))
        expected = int(offline[row]) if offline[row] <= 20 else MISS_RANK
        assert online == expected


def test_grouped_totals_per_label() -> None:
    grouped = GroupedTotals()
    grouped.add(torch.tensor([1, 30, 5]), ["a", "b", None])
    report = grouped.report()
    assert report["n_examples"] == 3
    assert report["per_behavior"] == {
        "a": {"hit_at_10": 1.0, "hit_at_20": 1.0, "mrr_at_20": 1.0, "n_examples": 1},
        "b": {"hit_at_10": 0.0, "hit_at_20": 0.0, "mrr_at_20": 0.0, "n_examples": 1},
    }


def test_single_rank_totals_equal_the_vectorised_ones() -> None:
    for rank in range(1, 30):
        assert RankingTotals.from_rank(rank) == RankingTotals.from_ranks([rank])


def test_online_rank_counts_ties_beyond_the_stored_top_k() -> None:
    # 25 items: a top-5 list whose last score (1.0) is shared by 3 more items outside it
    scores = torch.tensor([[9.0, 8.0, 7.0, 1.0, 1.0, 1.0, 1.0, 1.0] + [0.0] * 17])
    top_scores, top_items = scores.topk(5, dim=1)
    ties = int(tail_ties(scores, top_scores)[0])
    assert ties == 3
    items, values = top_items[0].tolist(), top_scores[0].tolist()
    for target in range(8):
        offline = int(ranks_from_scores(scores, torch.tensor([target]))[0])
        online = rank_in_top_k(items, values, target, ties)
        assert online == (offline if target in items else MISS_RANK), target
