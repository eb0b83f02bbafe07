"""vsknn: neighbours, recency sampling, idf, ties, checkpoints and online serving."""

from __future__ import annotations

import math
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
import torch

from streamrec.config import Settings
from streamrec.model.data.corpus import SessionCorpus
from streamrec.model.data.loading import prepare_data
from streamrec.model.scoring import ScoreRequest, WindowBatch
from streamrec.model.training.workflow import train_model
from streamrec.model.zoo import load_model
from streamrec.model.zoo.vsknn import (
    VSKNNConfig,
    VSKNNModel,
    fit_vsknn,
    position_weights,
    step_decay,
)

PLAIN = VSKNNConfig(k=100, sample_size=0, weighting="same", weighting_score="same", idf_weighting=0)


def _corpus(
    sessions: list[list[int]], n_items: int, times: list[float] | None = None
) -> SessionCorpus:
    return SessionCorpus(
        sessions=sessions,
        session_ids=[f"s{i}" for i in range(len(sessions))],
        behaviors=[None] * len(sessions),
        n_items=n_items,
        source="hand-made",
        start_times=None if times is None else np.asarray(times, dtype=np.float64),
    )


def _fit(sessions: list[list[int]], config: VSKNNConfig, n_items: int = 20, **kw) -> VSKNNModel:
    return fit_vsknn(_corpus(sessions, n_items, **kw), np.arange(len(sessions)), config)


def _scores(model: VSKNNModel, *prefixes: list[int]) -> np.ndarray:
    return model.score(WindowBatch.from_windows(prefixes, 25)).numpy()


def test_the_neighbour_sharing_more_of_the_prefix_wins() -> None:
    model = _fit([[0, 1, 2], [3, 4, 5], [0, 6]], PLAIN)
    s = _scores(model, [0, 1])[0]
    assert s[2] > s[6] > 0
    assert s[[3, 4, 5]].tolist() == [0, 0, 0]
    only_best = _fit([[0, 1, 2], [3, 4, 5], [0, 6]], VSKNNConfig(1, 0, "same", "same", 0))
    s = _scores(only_best, [0, 1])[0]
    assert s[2] > 0 and s[6] == 0


def test_recent_clicks_weigh_more() -> None:
    model = _fit([[0, 7], [1, 8]], VSKNNConfig(idf_weighting=0))
    s = _scores(model, [0, 1])[0]  # 1 is the last click: its neighbour votes more
    assert s[8] > s[7] > 0
    assert position_weights("div", np.array([1, 2, 4]), 4).tolist() == [0.25, 0.5, 1.0]
    assert step_decay("quadratic", np.array([1, 2])).tolist() == [1.0, 0.25]
    assert position_weights("linear", np.array([1, 20]), 20).tolist() == [0.0, 1.0]


def test_recency_sampling_keeps_the_most_recent_sessions() -> None:
    sessions = [[0, 10], [0, 11], [0, 12]]
    config = VSKNNConfig(100, 2, "same", "same", 0)
    by_time = _scores(_fit(sessions, config, times=[30.0, 10.0, 20.0]), [0])[0]
    assert by_time[10] > 0 and by_time[12] > 0 and by_time[11] == 0
    by_file_order = _scores(_fit(sessions, config), [0])[0]
    assert by_file_order[11] > 0 and by_file_order[12] > 0 and by_file_order[10] == 0


def test_idf_lifts_rare_items() -> None:
    sessions = [[0, 1], [0, 2], [1, 3], [1, 4], [1, 5]]
    flat = _scores(_fit(sessions, PLAIN), [0])[0]
    assert flat[1] == flat[2] > 0
    weighted = _fit(sessions, VSKNNConfig(100, 0, "same", "same", 10.0))
    assert weighted.idf[1] == pytest.approx(math.log(5 / 4))
    s = _scores(weighted, [0])[0]
    assert s[2] > s[1] > 0


def test_items_without_evidence_tie_at_zero() -> None:
    model = _fit([[0, 1, 2], [2, 3]], VSKNNConfig(), n_items=30)
    s = _scores(model, [1], [19])  # 19 is in no training session
    assert (s[0, 3:] == 0).all() and (s[0, :3] > 0).all()  # 3 is only with 2, not with 1
    assert (s[1] == 0).all()


def _reference(
    sessions: list[list[int]], prefix: list[int], cfg: VSKNNConfig, n_items: int
) -> np.ndarray:
    """The definition, one session at a time (sessions already oldest first)."""
    length, idf = len(prefix), np.zeros(n_items)
    clicks = np.bincount([i for s in sessions for i in s], minlength=n_items)
    idf[clicks > 0] = np.log(len(sessions) / clicks[clicks > 0])
    last = {item: pos for pos, item in enumerate(prefix, start=1)}
    candidates = [j for j, s in enumerate(sessions) if last.keys() & set(s)]
    if cfg.sample_size:
        candidates = candidates[-cfg.sample_size :]
    found = []
    for j in candidates:
        shared = last.keys() & set(sessions[j])
        w = sum(
            float(position_weights(cfg.weighting, np.array([last[i]]), length)[0]) for i in shared
        )
        step = min(length - last[i] + 1 for i in shared)
        found.append((w / len(last), j, step))
    found.sort(key=lambda t: (-round(t[0], 12), -t[1]))
    scores = np.zeros(n_items)
    for sim, j, step in [f for f in found if f[0] > 0][: cfg.k]:
        for item in set(sessions[j]):
            vote = sim * float(step_decay(cfg.weighting_score, np.array([step]))[0])
            scores[item] += vote * (1 + cfg.idf_weighting * idf[item])
    return scores


@pytest.mark.parametrize(
    "cfg",
    [
        VSKNNConfig(5, 10, "div", "div", 10.0),
        VSKNNConfig(3, 0, "quadratic", "quadratic", 0.0),
        VSKNNConfig(8, 6, "linear", "log", 2.0),
        VSKNNConfig(4, 12, "log", "same", 1.0),
    ],
)
def test_vectorised_scores_follow_the_definition(cfg: VSKNNConfig) -> None:
    rng = np.random.default_rng(7)
    sessions = [rng.integers(0, 25, size=rng.integers(2, 8)).tolist() for _ in range(80)]
    model = _fit(sessions, cfg, n_items=30)
    prefixes = [rng.integers(0, 30, size=rng.integers(1, 12)).tolist() for _ in range(40)]
    got = _scores(model, *prefixes)
    for row, prefix in zip(got, prefixes):
        assert np.allclose(row, _reference(sessions, prefix, cfg, 30), rtol=1e-5, atol=1e-6)


def test_config_is_validated() -> None:
    for bad in (VSKNNConfig(k=0), VSKNNConfig(weighting="cubic"), VSKNNConfig(idf_weighting=-1)):
        with pytest.raises(ValueError):
            bad.validate()
    assert VSKNNConfig.from_dict(asdict(VSKNNConfig())) == VSKNNConfig()


TINY = Settings(users=300, threads=1, architecture="vsknn")


def test_checkpoint_round_trip_and_online_serving(tmp_path: Path) -> None:
    out = tmp_path / "vsknn.pt"
    result = train_model(TINY, out, show_progress=False)
    data = prepare_data(TINY)
    fitted = fit_vsknn(data.corpus, data.train.session_index, VSKNNConfig())
    loaded, meta = load_model(out, expect_n_items=data.corpus.n_items)
    assert meta.architecture == "vsknn" and meta.config == asdict(VSKNNConfig())
    assert meta.metrics["hit_at_10"] == pytest.approx(result.history[-1].hit_at_10)
    assert result.n_parameters == fitted.n_parameters()
    batch = data.val.subset(np.arange(min(200, len(data.val))))
    offline = loaded.scorer().score(batch)
    assert torch.equal(offline, fitted.score(batch))
    online = loaded.streaming_scorer(TINY.max_len, "incremental", 1 << 20)
    requests = [
        ScoreRequest(f"s{s}", tuple((w[w > 0] - 1).tolist()))
        for s, w in zip(batch.session_index, batch.windows)
    ]
    assert online.mode == "full" and torch.equal(online.score_requests(requests), offline)
