"""Attention profiles: by-position means, shares, entropy and peaks on hand-made weights."""

from __future__ import annotations

import math

import numpy as np
import pytest

from streamrec.model.explain.profile import AttentionProfile, bucket_lengths


def _left_padded(rows: list[list[float]], width: int) -> np.ndarray:
    out = np.zeros((len(rows), width))
    for r, row in enumerate(rows):
        out[r, width - len(row) :] = row
    return out


ROWS = [
    [0.2, 0.2, 0.6],  # length 3, peak on the last click
    [0.6, 0.2, 0.2],  # length 3, peak on the first click
    [0.25, 0.25, 0.25, 0.25],  # length 4, uniform (argmax: the first)
    [0.5, 0.5],  # too short: counted, left out
]


def _profile() -> AttentionProfile:
    profile = AttentionProfile(max_len=5)
    weights = _left_padded(ROWS, 5)
    profile.add(
        weights,
        np.array([3, 3, 4, 2]),
        ["comparison", "deep_dive", "deep_dive", "comparison"],
        truncated=np.array([False, False, True, False]),
    )
    return profile


def test_means_by_position_from_the_start_and_from_the_end() -> None:
    s = _profile().summary()
    assert s["n_prefixes"] == 3 and s["n_truncated"] == 1
    first, middle, last = (0.2 + 0.6 + 0.25) / 3, (0.2 + 0.2 + 0.25) / 3, (0.6 + 0.2 + 0.25) / 3
    assert s["by_position_from_start"][:4] == pytest.approx([first, middle, last, 0.25])
    assert s["by_position_from_end"][:4] == pytest.approx([last, middle, first, 0.25])
    uniform = (1 / 3 + 1 / 3 + 1 / 4) / 3
    assert s["uniform_by_position"][:4] == pytest.approx([uniform] * 3 + [1 / 4])
    assert s["by_position_from_start"][4] is None and s["uniform_by_position"][4] is None
    assert s["n_by_position"] == [3, 3, 3, 1, 0]


def test_shares_and_their_uniform_baselines() -> None:
    s = _profile().summary()
    uniform = (1 / 3 + 1 / 3 + 1 / 4) / 3
    assert s["last_click"]["attention"] == pytest.approx((0.6 + 0.2 + 0.25) / 3)
    assert s["last_click"]["uniform"] == pytest.approx(uniform)
    assert s["last_click"]["lift"] == pytest.approx((0.6 + 0.2 + 0.25) / 3 / uniform)
    assert s["first_click"]["attention"] == pytest.approx((0.2 + 0.6 + 0.25) / 3)
    assert s["last_3"]["attention"] == pytest.approx((1.0 + 1.0 + 0.75) / 3)
    assert s["last_3"]["uniform"] == pytest.approx(3 * uniform)
    assert s["middle_per_click"]["attention"] == pytest.approx((0.2 + 0.2 + 0.25) / 3)
    assert s["peak_on_last"] == pytest.approx(1 / 3)
    assert s["peak_on_first"] == pytest.approx(2 / 3)


def test_normalised_entropy_is_one_when_uniform() -> None:
    profile = _profile()
    h3 = -(2 * 0.2 * math.log(0.2) + 0.6 * math.log(0.6)) / math.log(3)
    assert profile.summary("comparison")["normalised_entropy"]["attention"] == pytest.approx(h3)
    assert profile.summary("deep_dive")["normalised_entropy"]["attention"] == pytest.approx(
        (h3 + 1.0) / 2
    )
    one_hot = AttentionProfile(max_len=4)
    one_hot.add(np.array([[0.0, 0.0, 0.0, 1.0]]), np.array([4]), ["explorer"])
    assert one_hot.summary()["normalised_entropy"]["attention"] == pytest.approx(0.0)


def test_groups_by_behaviour_and_length_bucket() -> None:
    profile = _profile()
    assert profile.behaviors == ["comparison", "deep_dive"]
    assert profile.n_too_short == 1
    assert profile.summary("comparison")["n_prefixes"] == 1
    assert profile.summary("deep_dive", "short")["n_prefixes"] == 2
    assert profile.summary("deep_dive", "medium")["n_prefixes"] == 0
    assert math.isnan(profile.summary("deep_dive", "medium")["last_click"]["attention"])
    groups = profile.summaries()
    assert list(groups) == ["all", "comparison", "deep_dive"]
    assert list(groups["all"]) == ["all", "short", "medium", "long"]
    assert list(bucket_lengths("long", 25)) == list(range(16, 26))
    assert list(bucket_lengths("all", 25)) == list(range(3, 26))


def test_lift_grid_is_one_for_uniform_weights() -> None:
    grid = _profile().lift_grid("deep_dive")
    assert grid[4, :4] == pytest.approx([1.0] * 4)
    assert grid[3, :3] == pytest.approx([1.8, 0.6, 0.6])
    assert np.isnan(grid[5]).all()
