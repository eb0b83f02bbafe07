"""Incremental scoring gives the model's own logits, whatever the cache has or lost."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from streamrec.model.networks.incremental import IncrementalScorer, ScoreRequest, bytes_per_slot
from streamrec.model.networks.lstm import ModelConfig, SessionLSTMRecommender

MAX_LEN = 25
N_ITEMS = 400


def _model(window_start: str = "zero") -> SessionLSTMRecommender:
    torch.manual_seed(3)
    return SessionLSTMRecommender(ModelConfig(n_items=N_ITEMS, window_start=window_start)).eval()


def _full(model: SessionLSTMRecommender, windows: list[tuple[int, ...]]) -> torch.Tensor:
    x = torch.zeros((len(windows), MAX_LEN), dtype=torch.long)
    for row, window in enumerate(windows):
        x[row, MAX_LEN - len(window) :] = torch.tensor(window)
    with torch.no_grad():
        logits, _ = model(x)
    return logits


def _replay(seed: int, sessions: int, batch: int) -> list[list[ScoreRequest]]:
    """Interleaved clicks of sessions of 1..60 clicks (so many windows slide), in batches."""
    rng = np.random.default_rng(seed)
    clicks = {f"s{i}": list(rng.integers(1, N_ITEMS + 1, size=rng.integers(1, 61))) for i in
              range(sessions)}  # fmt: skip
    cursor = dict.fromkeys(clicks, 0)
    requests: list[ScoreRequest] = []
    while cursor:
        key = list(cursor)[int(rng.integers(len(cursor)))]
        n = cursor[key] + 1
        requests.append(ScoreRequest(key, tuple(int(i) for i in clicks[key][:n][-MAX_LEN:])))
        if n == len(clicks[key]):
            del cursor[key]
        else:
            cursor[key] = n
    return [requests[i : i + batch] for i in range(0, len(requests), batch)]


@pytest.mark.parametrize("budget_slots", [64, 10_000])
def test_incremental_equals_full_recomputation(budget_slots: int) -> None:
    model = _model()
    scorer = IncrementalScorer(model, MAX_LEN, budget_slots * bytes_per_slot(model, MAX_LEN))
    batches = _replay(seed=budget_slots, sessions=300, batch=97)
    n_events = sum(len(b) for b in batches)
    assert n_events > 2_000
    max_diff = 0.0
    identical = 0
    for batch in batches:
        incremental = scorer.score(batch)
        full = _full(model, [r.window for r in batch])
        max_diff = max(max_diff, float((incremental - full).abs().max()))
        mine, truth = incremental.topk(20), full.topk(20)
        # the same top-20 up to the order of items whose logits tie to float rounding
        assert torch.allclose(full.gather(1, mine.indices), truth.values, atol=1e-5)
        identical += int((mine.indices == truth.indices).all(dim=1).sum())
    assert max_diff < 1e-4
    assert identical > 0.99 * n_events
    counters = scorer.counters
    assert counters.by_reason.get("stale", 0) > 0  # windows slid past max_len and were rebuilt
    if budget_slots == 64:  # 300 interleaved sessions in 64 slots: evictions, then rebuilds
        assert counters.evictions > 0 and scorer.sessions == scorer.capacity == 64
    else:
        assert counters.by_reason.get("hit", 0) > n_events // 2 and counters.evictions == 0


def test_a_session_twice_in_one_call_and_a_lost_click() -> None:
    model = _model()
    scorer = IncrementalScorer(model, MAX_LEN, 1 << 20)
    calls = [
        [ScoreRequest("a", (5,)), ScoreRequest("a", (5, 6)), ScoreRequest("b", (7,))],
        # "a" missed a click (another consumer scored (5, 6, 8)): the cached (5, 6) is still
        # a prefix, so the LSTM runs over 8, 9, 10 from it
        [ScoreRequest("a", (5, 6, 8, 9)), ScoreRequest("a", (5, 6, 8, 9, 10))],
        [ScoreRequest("a", (1,))],  # a different session under the same key: rebuilt
    ]
    for call in calls:
        full = _full(model, [r.window for r in call])
        assert torch.allclose(scorer.score(call), full, atol=1e-5)
    assert scorer.counters.by_reason == {"new": 2, "hit": 3, "stale": 1}


def test_padding_models_are_refused_and_windows_checked() -> None:
    with pytest.raises(ValueError, match="window_start='zero'"):
        IncrementalScorer(_model("padding"), MAX_LEN, 1 << 20)
    scorer = IncrementalScorer(_model(), MAX_LEN, 1 << 20)
    with pytest.raises(ValueError, match="window length"):
        scorer.score([ScoreRequest("a", tuple(range(1, 27)))])
    with pytest.raises(ValueError, match="window length"):
        scorer.score([ScoreRequest("a", ())])
