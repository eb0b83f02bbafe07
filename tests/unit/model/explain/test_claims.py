"""The three claims' rules on hand-made attention profiles."""

from __future__ import annotations

import numpy as np
import pytest

from streamrec.model.explain.claims import anchoring, check_claims, near_uniform, recency
from streamrec.model.explain.profile import AttentionProfile


def _profile(rows: dict[str, list[list[float]]]) -> AttentionProfile:
    """One prefix per row, unpadded (max_len = the longest row)."""
    width = max(len(r) for group in rows.values() for r in group)
    profile = AttentionProfile(width)
    for label, group in rows.items():
        weights = np.zeros((len(group), width))
        for i, row in enumerate(group):
            weights[i, width - len(row) :] = row
        profile.add(weights, np.array([len(r) for r in group]), [label] * len(group))
    return profile


UNIFORM_10 = [0.1] * 10
ANCHORED_10 = [0.4] + [0.2 / 8] * 8 + [0.4]
RECENT_10 = [0.0] * 8 + [0.2, 0.8]


def test_recency_needs_the_last_click_above_its_uniform_share() -> None:
    assert recency(_profile({"explorer": [[0.1, 0.1, 0.8], [0.1, 0.2, 0.2, 0.5]]}))["holds"]
    verdict = recency(_profile({"explorer": [[0.4, 0.3, 0.3], [0.25] * 4]}))
    assert verdict["holds"] is False
    assert verdict["evidence"]["n_prefixes"] == 2


def test_anchoring_needs_first_and_last_above_uniform_and_the_middle() -> None:
    holds = anchoring(_profile({"comparison": [ANCHORED_10], "explorer": [UNIFORM_10]}))
    assert holds["holds"] is True
    assert holds["evidence"]["first_click_lift_by_behavior"] == pytest.approx(
        {"comparison": 4.0, "explorer": 1.0}
    )
    recent_only = anchoring(_profile({"comparison": [RECENT_10]}))
    assert recent_only["holds"] is False


def test_near_uniform_needs_high_entropy_and_the_highest() -> None:
    assert near_uniform(_profile({"deep_dive": [UNIFORM_10], "explorer": [RECENT_10]}))["holds"]
    peaked = near_uniform(_profile({"deep_dive": [ANCHORED_10], "explorer": [UNIFORM_10]}))
    assert peaked["holds"] is False
    entropy = peaked["evidence"]["normalised_entropy_by_behavior"]
    assert entropy["explorer"] == pytest.approx(1.0)
    assert entropy["deep_dive"] < 0.9


def test_unlabelled_prefixes_test_recency_only() -> None:
    verdicts = check_claims(_profile({"all": [[0.1, 0.1, 0.8]]}))
    assert [v["holds"] for v in verdicts] == [True, None, None]
    assert "needs behaviour labels" in verdicts[1]["rule"]
