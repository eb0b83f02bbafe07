"""Prefix examples and splits follow the seed's construction exactly."""

import numpy as np
import torch

from streamrec.model.data.examples import (
    build_examples,
    example_split,
    left_pad_window,
    session_split,
    split_examples,
)


def seed_examples(sessions, max_len=25):
    """The seed's SessionRecommendationDataset, written out for comparison."""
    out = []
    for session in sessions:
        shifted = [item + 1 for item in session]
        for t in range(1, len(shifted)):
            prefix = shifted[max(0, t - max_len) : t]
            out.append(([0] * (max_len - len(prefix)) + prefix, session[t]))
    return out


def test_examples_match_seed_dataset() -> None:
    rng = np.random.default_rng(0)
    sessions = [list(rng.integers(0, 50, size=n)) for n in (3, 5, 26, 27, 40)]
    sessions = [[int(i) for i in s] for s in sessions]
    ex = build_examples(sessions, max_len=25)
    expected = seed_examples(sessions)
    assert len(ex) == len(expected)
    for row, (window, target) in enumerate(expected):
        assert ex.windows[row].tolist() == window
        assert ex.targets[row] == target
        assert ex.lengths[row] == sum(1 for w in window if w)
    # position is the target's index in its session; session_index names the session
    assert ex.position[:2].tolist() == [1, 2]
    assert ex.session_index.tolist()[:4] == [0, 0, 1, 1]


def test_left_pad_window_is_the_example_window() -> None:
    session = list(range(30))
    ex = build_examples([session], max_len=25)
    for t in range(1, 30):
        assert left_pad_window(session[:t], 25).tolist() == ex.windows[t - 1].tolist()


def test_example_split_is_torch_random_split() -> None:
    n = 1000
    train, val = example_split(n, seed=42)
    dataset = torch.utils.data.TensorDataset(torch.arange(n))
    ref = torch.utils.data.random_split(
        dataset, [800, 200], generator=torch.Generator().manual_seed(42)
    )
    assert train.tolist() == list(ref[0].indices)
    assert val.tolist() == list(ref[1].indices)


def test_session_split_holds_out_whole_sessions() -> None:
    sessions = [[1, 2, 3, 4]] * 50
    ex = build_examples(sessions)
    train, val = split_examples(ex, len(sessions), "session", seed=1)
    _, held_out = session_split(len(sessions), seed=1)
    assert len(held_out) == 10
    assert set(val.session_index.tolist()) == set(held_out.tolist())
    assert not set(train.session_index.tolist()) & set(val.session_index.tolist())
    assert len(train) + len(val) == len(ex)
