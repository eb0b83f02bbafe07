"""The A/B split's session hash and the merging of two models' rows (no servers)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from streamrec.consumer.arms import arm_position, in_second_arm, split_top_k
from streamrec.contract.names import Names


def test_arm_positions_are_stable_and_spread_evenly() -> None:
    assert arm_position("session-1") == arm_position("session-1")
    positions = np.array([arm_position(f"s{i}") for i in range(20_000)])
    assert ((positions >= 0) & (positions < 1)).all()
    assert (positions < 0.3).mean() == pytest.approx(0.3, abs=0.015)
    assert in_second_arm("s1", 0.999999) and not in_second_arm("s1", 0.0)


def test_arms_are_independent_of_the_shard_hash() -> None:
    names = Names()
    shard0 = [sid for sid in (f"s{i}" for i in range(64_000)) if names.shard_of(sid) == 0]
    share = np.mean([in_second_arm(sid, 0.5) for sid in shard0])
    assert share == pytest.approx(0.5, abs=0.06)


class FakeModel:
    """Top-K rows that name the model and the window: items [tag, last item]."""

    def __init__(self, tag: int) -> None:
        self.tag = tag
        self.seen: list[str] = []

    def top_k(
        self, sessions: Sequence[str], windows: Sequence[Sequence[int]]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        self.seen += sessions
        items = np.array([[self.tag, w[-1]] for w in windows], dtype=np.int64)
        scores = np.full((len(windows), 2), float(self.tag), dtype=np.float32)
        return items, scores, np.zeros(len(windows), dtype=np.int64)


def test_split_top_k_scores_each_row_with_its_arms_model_in_batch_order() -> None:
    primary, second = FakeModel(1), FakeModel(2)
    sessions = ["a", "b", "a", "c", "b"]
    windows = [[10], [20], [10, 11], [30], [20, 21]]
    arms = [False, True, False, False, True]
    items, scores, ties = split_top_k(
        primary,  # type: ignore[arg-type]
        second,  # type: ignore[arg-type]
        sessions,
        windows,
        arms,
    )
    assert items.tolist() == [[1, 10], [2, 20], [1, 11], [1, 30], [2, 21]]
    assert scores[:, 0].tolist() == [1.0, 2.0, 1.0, 1.0, 2.0]
    assert ties.tolist() == [0] * 5
    assert primary.seen == ["a", "a", "c"] and second.seen == ["b", "b"]


def test_split_top_k_with_one_arm_only_calls_one_model() -> None:
    primary, second = FakeModel(1), FakeModel(2)
    items, _, _ = split_top_k(
        primary,  # type: ignore[arg-type]
        second,  # type: ignore[arg-type]
        ["a"],
        [[5]],
        [True],
    )
    assert items.tolist() == [[2, 5]] and primary.seen == []
