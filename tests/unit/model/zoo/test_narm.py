"""NARM: training smoke test and round trip, the paper's defaults, padding independence of
the offline scores, and the streaming scorer against the offline one."""

from pathlib import Path

import numpy as np
import pytest
import torch

from streamrec.config import Settings
from streamrec.model.data.examples import left_pad_window
from streamrec.model.networks.narm import NarmConfig, NarmNetwork
from streamrec.model.scoring import NetworkScorer, ScoreRequest, WindowBatch
from streamrec.model.zoo import load_model
from streamrec.model.zoo.narm import NarmModel, config_for
from tests.unit.model.zoo.helpers import trained_and_reloaded

TINY = Settings(users=300, epochs=1, architecture="narm", threads=1)


def _network(n_items: int = 30, seed: int = 3) -> NarmNetwork:
    torch.manual_seed(seed)
    return NarmNetwork(NarmConfig(n_items=n_items)).eval()


def test_training_round_trips_and_the_loss_falls(tmp_path: Path) -> None:
    settings = Settings(users=300, epochs=2, architecture="narm", threads=1)
    first, second = trained_and_reloaded(settings, tmp_path / "n.pt").history
    assert second.train_loss < first.train_loss
    assert load_model(tmp_path / "n.pt")[0].config()["epochs"] == 2


def test_paper_defaults_unless_settings_moved() -> None:
    config = config_for(Settings(), 10)
    assert (config.embedding, config.hidden, config.batch_size) == (50, 100, 512)
    assert (config.dropout_embed, config.dropout_context, config.learning_rate) == (
        0.25,
        0.5,
        1e-3,
    )
    assert config_for(Settings(epochs=3, batch_size=64), 10).epochs == 3
    with pytest.raises(ValueError):
        NarmConfig(n_items=10, dropout_context=1.0).validate()


def test_scores_do_not_depend_on_left_padding() -> None:
    network = _network()
    scorer = NetworkScorer(network)
    sessions = [[4], [1, 2, 3], [7, 7, 8, 9, 2, 5], list(range(25))]
    for max_len in (8, 25, 40):
        batch = WindowBatch.from_windows(sessions, max_len)
        mixed = scorer.score(batch)
        for row, session in enumerate(sessions):
            alone = scorer.score(WindowBatch.from_windows([session], len(session[-max_len:])))
            torch.testing.assert_close(mixed[row], alone[0], rtol=1e-5, atol=1e-5)
    short = scorer.score(WindowBatch.from_windows([[1, 2, 3]], 5))
    long = scorer.score(WindowBatch.from_windows([[1, 2, 3]], 25))
    torch.testing.assert_close(short, long, rtol=1e-5, atol=1e-5)


def test_padding_positions_hold_no_state() -> None:
    network = _network()
    rows = [left_pad_window(w, 6) for w in ([3, 5], [1, 2, 3, 4, 5, 6], [9])]
    states, mask = network.hidden_states(torch.from_numpy(np.stack(rows)))
    assert mask.sum(dim=1).tolist() == [2, 6, 1] and states.shape == (3, 6, 100)
    assert bool((states[~mask] == 0).all()) and bool((states[mask] != 0).any(dim=1).all())
    alone = network.session_representation(torch.tensor([[4, 6]]))  # model ids of [3, 5]
    mixed = network.session_representation(torch.from_numpy(np.stack(rows)))
    torch.testing.assert_close(mixed[0], alone[0], rtol=1e-5, atol=1e-5)


def test_streaming_equals_offline() -> None:
    model = NarmModel(_network(), torch.device("cpu"))
    rng = np.random.default_rng(5)
    max_len = 6
    clicks = {key: rng.integers(0, 30, size=9).tolist() for key in "abc"}
    requests = [
        ScoreRequest(key, tuple(clicks[key][: t + 1][-max_len:])) for t in range(9) for key in "abc"
    ]
    for scoring in ("incremental", "full"):
        streaming = model.streaming_scorer(max_len, scoring, cache_bytes=1 << 20)
        online = streaming.score_requests(requests)
        offline = model.scorer().score(
            WindowBatch.from_windows([r.window for r in requests], max_len)
        )
        torch.testing.assert_close(online, offline)
        assert streaming.cache_counters() is None
