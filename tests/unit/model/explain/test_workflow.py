"""Profiling a reader's attention over prefix examples: every prefix read once, labels,
short and truncated prefixes counted."""

from __future__ import annotations

import pytest
import torch

from streamrec.model.data.examples import build_examples
from streamrec.model.explain.attention import AttentionReader
from streamrec.model.explain.workflow import profile_attention


def _uniform(windows: torch.Tensor) -> torch.Tensor:
    real = (windows > 0).float()
    return real / real.sum(dim=1, keepdim=True)


UNIFORM = AttentionReader("test", "uniform over the clicks", _uniform)


def test_unlabelled_prefixes_are_one_group_and_short_ones_are_counted() -> None:
    sessions = [[1, 2, 3, 4, 5, 6], [7, 8, 9]]  # prefixes of 1..5 and 1..2 clicks
    examples = build_examples(sessions, max_len=4)
    profile = profile_attention(UNIFORM, examples, [None, None], max_len=4, batch_size=2)
    assert profile.behaviors == []
    assert profile.n_too_short == 4  # lengths 1, 2 of each session
    s = profile.summary()
    assert s["n_prefixes"] == 3  # windows of 3, 4 and 4 (the 5-click prefix, truncated)
    assert s["n_truncated"] == 1
    assert s["normalised_entropy"]["attention"] == pytest.approx(1.0)
    assert s["last_click"]["lift"] == pytest.approx(1.0)


def test_prefixes_are_grouped_by_their_sessions_behaviour() -> None:
    sessions = [[1, 2, 3, 4], [5, 6, 7, 8, 9], [1, 3, 5, 7]]
    examples = build_examples(sessions, max_len=25)
    labels: list[str | None] = ["comparison", "deep_dive", "comparison"]
    profile = profile_attention(UNIFORM, examples, labels, max_len=25)
    assert profile.behaviors == ["comparison", "deep_dive"]
    assert profile.summary("comparison")["n_prefixes"] == 2  # length 3 of each session
    assert profile.summary("deep_dive")["n_prefixes"] == 2  # lengths 3 and 4
    assert profile.summary()["n_prefixes"] == 4
