"""The scoring contract: streaming scorers return what the offline path returns."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from streamrec.config import Settings
from streamrec.model.data.examples import build_examples, left_pad_window
from streamrec.model.data.loading import prepare_data
from streamrec.model.evaluation.baselines import make_baseline
from streamrec.model.evaluation.evaluate import ModelScorer
from streamrec.model.networks.incremental import IncrementalScorer
from streamrec.model.networks.lstm import ModelConfig, SessionLSTMRecommender
from streamrec.model.scoring import ScoreRequest, WindowBatch, WindowRecomputer

MAX_LEN = 25


def _stream(n_sessions: int, n_items: int, seed: int) -> list[ScoreRequest]:
    """Interleaved clicks of sessions of 1..40 clicks, as dense-id windows."""
    rng = np.random.default_rng(seed)
    sessions = {f"s{i}": rng.integers(0, n_items, size=rng.integers(1, 41)).tolist()
                for i in range(n_sessions)}  # fmt: skip
    cursor = dict.fromkeys(sessions, 0)
    out: list[ScoreRequest] = []
    while cursor:
        key = list(cursor)[int(rng.integers(len(cursor)))]
        cursor[key] += 1
        out.append(ScoreRequest(key, tuple(sessions[key][: cursor[key]][-MAX_LEN:])))
        if cursor[key] == len(sessions[key]):
            del cursor[key]
    return out


def test_window_batch_pads_and_truncates_like_the_examples() -> None:
    batch = WindowBatch.from_windows([(4,), tuple(range(30))], MAX_LEN)
    assert np.array_equal(batch.windows[0], left_pad_window([4], MAX_LEN))
    assert np.array_equal(batch.windows[1], left_pad_window(list(range(30)), MAX_LEN))
    assert batch.lengths.tolist() == [1, MAX_LEN] and len(batch) == 2
    assert batch.session_index.tolist() == [-1, -1]


def test_incremental_and_recomputed_streams_agree() -> None:
    torch.manual_seed(1)
    model = SessionLSTMRecommender(ModelConfig(n_items=200)).eval()
    incremental = IncrementalScorer(model, MAX_LEN, 1 << 20)
    recomputer = WindowRecomputer(ModelScorer(model), MAX_LEN)
    requests = _stream(60, 200, seed=3)
    assert incremental.mode == "incremental" and recomputer.mode == "full"
    for start in range(0, len(requests), 64):
        batch = requests[start : start + 64]
        fast, full = incremental.score_requests(batch), recomputer.score_requests(batch)
        assert float((fast - full).abs().max()) < 1e-4
    counters = incremental.cache_counters()
    assert counters is not None and sum(counters.by_reason.values()) == len(requests)
    assert incremental.cached_sessions() == 60
    assert recomputer.cache_counters() is None and recomputer.cached_sessions() == 0


@pytest.mark.parametrize("name", ["popularity", "category-popularity", "markov"])
def test_baselines_serve_online_as_they_score_offline(name: str) -> None:
    data = prepare_data(Settings(users=400))
    scorer = make_baseline(name, data.corpus, data.train)
    sessions = [data.corpus.sessions[int(i)] for i in np.unique(data.val.session_index)[:30]]
    examples = build_examples(sessions)
    offline = scorer.score(examples)
    windows = [tuple(s[:t][-MAX_LEN:]) for s in sessions for t in range(1, len(s))]
    online = WindowRecomputer(scorer, MAX_LEN).score_requests(
        [ScoreRequest(f"k{i}", w) for i, w in enumerate(windows)]
    )
    assert torch.equal(online, offline)


def test_the_oracle_refuses_windows_without_a_corpus_position() -> None:
    data = prepare_data(Settings(users=300))
    oracle = make_baseline("oracle", data.corpus, data.train)
    with pytest.raises(ValueError, match="corpus prefixes only"):
        WindowRecomputer(oracle, MAX_LEN).score_requests([ScoreRequest("a", (1, 2))])


def test_validation_sample_is_a_seeded_subset() -> None:
    full = prepare_data(Settings(users=300))
    sample = prepare_data(Settings(users=300, validation_sample=50))
    again = prepare_data(Settings(users=300, validation_sample=50))
    assert len(sample.val) == 50 < len(full.val)
    assert np.array_equal(sample.val.targets, again.val.targets)
    assert len(sample.train) == len(full.train)
