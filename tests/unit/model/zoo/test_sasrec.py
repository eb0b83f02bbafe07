"""SASRec: training smoke test and round trip, training windows, causality, padding
invariance, and streaming against offline scoring."""

from pathlib import Path

import pytest
import torch

from streamrec.config import Settings
from streamrec.model.data.loading import prepare_data
from streamrec.model.networks.sasrec import SasRecConfig, SasRecNetwork
from streamrec.model.scoring import NetworkScorer, ScoreRequest, WindowBatch
from streamrec.model.zoo import load_model
from streamrec.model.zoo.sasrec import (
    IGNORE,
    SasRecModel,
    SasRecTrainer,
    config_for,
    training_windows,
)
from tests.unit.model.zoo.helpers import trained_and_reloaded

TINY = Settings(users=300, epochs=1, architecture="sasrec", threads=1)


def small_network(max_len: int = 8, seed: int = 3) -> SasRecNetwork:
    torch.manual_seed(seed)
    network = SasRecNetwork(SasRecConfig(n_items=30, max_len=max_len, hidden=16, seed=seed))
    with torch.no_grad():  # move the layer norms and biases off their initial values
        for parameter in network.parameters():
            parameter.add_(0.1 * torch.randn_like(parameter))
    return network.eval()


def test_the_loss_falls() -> None:
    data = prepare_data(TINY)
    network = SasRecNetwork(config_for(TINY, data.corpus.n_items))
    sessions = [data.corpus.sessions[i] for i in sorted(set(data.train.session_index.tolist()))]
    trainer = SasRecTrainer(network, sessions, torch.device("cpu"))
    first, second = trainer.epoch(), trainer.epoch()
    assert second < first


def test_training_round_trips(tmp_path: Path) -> None:
    trained_and_reloaded(TINY, tmp_path / "s.pt")
    assert load_model(tmp_path / "s.pt")[0].config()["epochs"] == 1


def test_defaults_unless_settings_moved() -> None:
    config = config_for(Settings(), 10)
    assert (config.hidden, config.blocks, config.heads, config.max_len) == (64, 2, 1, 25)
    assert config_for(Settings(epochs=3, learning_rate=0.01), 10).epochs == 3
    with pytest.raises(ValueError):
        SasRecConfig(n_items=10, hidden=10, heads=3).validate()


def test_training_windows_match_scoring_windows() -> None:
    windows, targets = training_windows([[5, 6, 7], [1], [0, 1, 2, 3, 4, 5]], max_len=3)
    # [5, 6, 7]: one window, both positions trained
    assert windows[0].tolist() == [0, 6, 7] and targets[0].tolist() == [IGNORE, 6, 7]
    # [1] has no target; [0..5]: first 3 clicks at every position, then sliding windows
    assert windows[1].tolist() == [1, 2, 3] and targets[1].tolist() == [1, 2, 3]
    assert windows[2].tolist() == [2, 3, 4] and targets[2].tolist() == [IGNORE, IGNORE, 4]
    assert windows[3].tolist() == [3, 4, 5] and targets[3].tolist() == [IGNORE, IGNORE, 5]
    assert len(windows) == 4


def test_a_future_click_never_changes_an_earlier_output() -> None:
    network = small_network()
    base = torch.tensor([[0, 0, 3, 9, 4, 12, 7, 2]])
    changed = base.clone()
    changed[0, -1] = 21
    with torch.no_grad():
        a, b = network.encode(base), network.encode(changed)
    assert torch.allclose(a[0, 2:-1], b[0, 2:-1], atol=1e-6)
    assert not torch.allclose(a[0, -1], b[0, -1])


def test_padding_does_not_change_a_window_s_scores() -> None:
    network = small_network()
    clicks = [4, 11, 2, 29]
    scorer = NetworkScorer(network)
    wide = scorer.score(WindowBatch.from_windows([clicks], 8))
    narrow = scorer.score(WindowBatch.from_windows([clicks], 4))
    assert torch.allclose(wide, narrow, atol=1e-5)
    # each prefix inside the full window gives its own window's scores
    with torch.no_grad():
        inside = network.score_all(network.encode(torch.tensor([[0, 0, 0, 0, 5, 12, 3, 30]])))
    for end in range(1, 5):
        alone = scorer.score(WindowBatch.from_windows([clicks[:end]], 8))
        assert torch.allclose(inside[0, 3 + end], alone[0], atol=1e-5)


def test_streaming_equals_offline() -> None:
    model = SasRecModel(small_network(), torch.device("cpu"))
    sessions = {"a": [1, 5, 7, 2, 9, 11, 4, 3, 8, 0], "b": [3, 3, 6]}
    requests = [
        ScoreRequest(key, tuple(clicks[max(0, end - 8) : end]))
        for key, clicks in sessions.items()
        for end in range(1, len(clicks) + 1)
    ]
    for mode in ("incremental", "full"):
        online = model.streaming_scorer(8, mode, 1 << 20).score_requests(requests)
        offline = model.scorer().score(WindowBatch.from_windows([r.window for r in requests], 8))
        assert torch.allclose(online, offline, atol=1e-6)
