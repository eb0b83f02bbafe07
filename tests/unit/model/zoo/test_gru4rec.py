"""GRU4Rec: training smoke test and round trip, session-parallel batching, the negative
sampler, the losses, and incremental streaming against window recomputation."""

from pathlib import Path

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from streamrec.config import Settings
from streamrec.model.data.loading import prepare_data
from streamrec.model.networks.gru4rec import Gru4RecConfig, Gru4RecNetwork
from streamrec.model.networks.gru4rec_streaming import Gru4RecStreamingScorer
from streamrec.model.scoring import NetworkScorer, ScoreRequest, WindowRecomputer
from streamrec.model.training.gru4rec import (
    Gru4RecTrainer,
    PopularitySampler,
    bpr_max,
    cross_entropy_logq,
    session_parallel_steps,
)
from streamrec.model.zoo import load_model
from streamrec.model.zoo.gru4rec import config_for
from tests.unit.model.zoo.helpers import trained_and_reloaded

TINY = Settings(users=300, epochs=1, architecture="gru4rec", threads=1)


def test_the_loss_falls() -> None:
    # the published learning rate (0.2) suits RSC15's dense click log; this tiny generated
    # corpus (5,000 items, 240 sessions) needs a smaller one to settle in two epochs
    settings = Settings(users=300, learning_rate=0.05, architecture="gru4rec", threads=1)
    data = prepare_data(settings)
    network = Gru4RecNetwork(config_for(settings, data.corpus.n_items))
    sessions = [data.corpus.sessions[i] for i in sorted(set(data.train.session_index.tolist()))]
    trainer = Gru4RecTrainer(network, sessions)
    first, second = trainer.epoch(), trainer.epoch()
    assert second < first - 0.3


def test_training_round_trips(tmp_path: Path) -> None:
    trained_and_reloaded(TINY, tmp_path / "g.pt")
    assert load_model(tmp_path / "g.pt")[0].config()["epochs"] == 1


def test_published_defaults_unless_settings_moved() -> None:
    config = config_for(Settings(), 10)
    assert (config.layers, config.batch_size, config.learning_rate) == ((100,), 32, 0.2)
    assert (config.n_sample, config.sample_alpha, config.logq, config.epochs) == (
        2048,
        0.5,
        1.0,
        10,
    )
    assert config_for(Settings(epochs=3), 10).epochs == 3
    with pytest.raises(ValueError):
        Gru4RecConfig(n_items=10, loss="top1").validate()


def test_session_parallel_steps_cover_every_click_once() -> None:
    rng = np.random.default_rng(1)
    lengths = rng.integers(1, 12, size=60)
    starts = np.concatenate([[0], np.cumsum(lengths)])
    sessions = [list(range(starts[i], starts[i + 1])) for i in range(len(lengths))]  # unique ids
    seen: list[tuple[int, int]] = []
    previous: np.ndarray | None = None
    for step in session_parallel_steps(sessions, 7):
        assert len(step.inputs) <= 7
        if previous is not None:
            carried = previous if step.keep is None else previous[step.keep]
            # a row that is not reset continues its session: its input is its last target
            assert np.array_equal(step.inputs[~step.reset], carried[~step.reset])
        seen.extend(zip(step.inputs.tolist(), step.targets.tolist()))
        previous = step.targets
    expected = [(c, c + 1) for s in sessions for c in s[:-1]]
    assert sorted(seen) == sorted(expected) and len(seen) == len(expected)


def test_sampler_draws_by_popularity_to_the_alpha() -> None:
    counts = np.array([1, 4, 9, 16, 0, 25])
    sampler = PopularitySampler(counts, alpha=0.5, seed=3, cache=50_000)
    drawn = torch.cat([sampler.draw(2048) for _ in range(100)])
    freq = np.bincount(drawn.numpy(), minlength=len(counts)) / len(drawn)
    expected = np.sqrt(counts) / np.sqrt(counts).sum()
    assert np.abs(freq - expected).max() < 0.01 and freq[4] == 0


def test_losses() -> None:
    scores = torch.randn(5, 12)
    plain = cross_entropy_logq(scores, torch.ones(12), logq=0.0)
    assert plain.item() == pytest.approx(
        F.cross_entropy(scores, torch.arange(5), reduction="sum").item(), rel=1e-5
    )
    weights = torch.rand(12) + 0.5
    corrected = cross_entropy_logq(scores, weights, logq=1.0)
    assert corrected.item() == pytest.approx(
        F.cross_entropy(scores - weights.log(), torch.arange(5), reduction="sum").item(), rel=1e-5
    )
    assert bpr_max(scores, 0.0, 0.0).item() > 0


def test_incremental_streaming_equals_recomputation() -> None:
    torch.manual_seed(0)
    n_items, max_len = 50, 25
    network = Gru4RecNetwork(Gru4RecConfig(n_items=n_items, layers=(16, 12), seed=5))
    with torch.no_grad():  # move off the zero-bias init so every part matters
        network.item_bias.weight.normal_()
    rng = np.random.default_rng(7)
    sessions = {
        f"s{i}": rng.integers(0, n_items, size=rng.integers(1, 41)).tolist() for i in range(12)
    }
    # interleave the sessions' clicks in a random stream order
    stream = [key for key, clicks in sessions.items() for _ in clicks]
    rng.shuffle(stream)
    incremental = Gru4RecStreamingScorer(network, max_len, budget_bytes=1 << 20)
    full = WindowRecomputer(NetworkScorer(network), max_len)
    seen = dict.fromkeys(sessions, 0)
    requests = []
    for key in stream:
        seen[key] += 1
        window = tuple(sessions[key][: seen[key]][-max_len:])
        requests.append(ScoreRequest(key, window))
    at = 0
    while at < len(requests):
        size = int(rng.integers(1, 9))
        batch = requests[at : at + size]
        got, want = incremental.score_requests(batch), full.score_requests(batch)
        assert torch.allclose(got, want, atol=1e-4), (got - want).abs().max()
        at += size
    counters = incremental.cache_counters()
    assert counters is not None
    assert counters.by_reason["hit"] > 0 and counters.by_reason["stale"] > 0  # windows slid
    assert counters.by_reason["new"] == len(sessions)
    assert incremental.cached_sessions() == len(sessions)
