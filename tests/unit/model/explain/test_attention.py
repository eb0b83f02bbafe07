"""Attention readers: weights per prefix sum to 1 over its clicks, ignore padding, and are the
weights each network uses; architectures without attention are refused."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from streamrec.config import Settings
from streamrec.model.explain.attention import NoAttention, attention_reader
from streamrec.model.networks.lstm import ModelConfig, SessionLSTMRecommender
from streamrec.model.networks.narm import NarmConfig, NarmNetwork
from streamrec.model.networks.sasrec import SasRecBlock, SasRecConfig, SasRecNetwork
from streamrec.model.scoring import WindowBatch
from streamrec.model.training.workflow import train_model
from streamrec.model.zoo import load_model
from streamrec.model.zoo.base import SessionModel
from streamrec.model.zoo.lstm_attn import LSTMAttnModel
from streamrec.model.zoo.narm import NarmModel
from streamrec.model.zoo.sasrec import SasRecModel

N_ITEMS = 30
SESSIONS = [[4, 9], [1, 2, 3], [7, 7, 8, 9, 2, 5], list(range(12))]
CPU = torch.device("cpu")


def _models() -> dict[str, SessionModel]:
    torch.manual_seed(5)
    sasrec = SasRecNetwork(SasRecConfig(n_items=N_ITEMS, max_len=12, hidden=16, heads=2))
    with torch.no_grad():  # move biases and norms off their initial values
        for parameter in sasrec.parameters():
            parameter.add_(0.1 * torch.randn_like(parameter))
    return {
        "lstm-attn": LSTMAttnModel(SessionLSTMRecommender(ModelConfig(n_items=N_ITEMS)), CPU),
        "lstm-attn padding": LSTMAttnModel(
            SessionLSTMRecommender(ModelConfig(n_items=N_ITEMS, window_start="padding")), CPU
        ),
        "narm": NarmModel(NarmNetwork(NarmConfig(n_items=N_ITEMS)), CPU),
        "sasrec": SasRecModel(sasrec, CPU),
    }


def _windows(max_len: int) -> torch.Tensor:
    return torch.from_numpy(WindowBatch.from_windows(SESSIONS, max_len).windows)


@pytest.mark.parametrize("name", list(_models()))
def test_weights_sum_to_one_over_the_clicks_and_are_zero_on_padding(name: str) -> None:
    reader = attention_reader(_models()[name])
    windows = _windows(16)
    weights = reader(windows)
    assert weights.shape == windows.shape
    torch.testing.assert_close(weights.sum(dim=1), torch.ones(len(SESSIONS)))
    assert bool((weights[windows == 0] == 0).all())
    assert bool((weights[windows > 0] > 0).all())


@pytest.mark.parametrize("name", ["lstm-attn", "narm", "sasrec"])
def test_zero_start_weights_do_not_depend_on_the_padding(name: str) -> None:
    reader = attention_reader(_models()[name])
    narrow, wide = reader(_windows(12)), reader(_windows(20))
    torch.testing.assert_close(narrow, wide[:, 8:], rtol=1e-5, atol=1e-6)


def test_lstm_weights_are_the_pooling_weights() -> None:
    model = _models()["lstm-attn"]
    assert isinstance(model, LSTMAttnModel)
    network = model.network
    session = torch.tensor([[5, 3, 8, 1, 2]])  # model ids, no padding
    shape = (network.config.num_layers, 1, network.hidden_size)
    with torch.no_grad():
        outputs, _ = network.step(session, (torch.zeros(shape), torch.zeros(shape)))
        expected = torch.softmax(network.attention_scores(outputs), dim=1)
    padded = torch.cat([torch.zeros(1, 3, dtype=torch.long), session], dim=1)
    torch.testing.assert_close(attention_reader(model)(padded)[:, 3:], expected)


def test_narm_shares_are_the_local_weights_magnitudes() -> None:
    model = _models()["narm"]
    assert isinstance(model, NarmModel)
    window = torch.tensor([[0, 0, 5, 3, 8]])
    with torch.no_grad():
        alpha, _ = model.network.attention(window)
    shares = attention_reader(model)(window)
    torch.testing.assert_close(shares[:, 2:], alpha.abs() / alpha.abs().sum())


def test_sasrec_weights_are_the_last_blocks_at_the_last_click_mean_over_heads() -> None:
    model = _models()["sasrec"]
    assert isinstance(model, SasRecModel)
    network = model.network
    window = torch.tensor([[3, 4, 5, 6, 7]])  # model ids, no padding
    steps, hidden, heads = 5, network.config.hidden, network.config.heads
    with torch.no_grad():
        x = network.items(window) * hidden**0.5 + network.positions(torch.arange(steps))[None]
        causal = torch.ones(steps, steps, dtype=torch.bool).tril()[None]
        x = network.blocks[0](x, causal)
        last = network.blocks[1]
        assert isinstance(last, SasRecBlock)
        query = last.attention.query(last.attn_norm(x))[0, -1].view(heads, -1)
        keys = last.attention.key(x)[0].view(steps, heads, -1).transpose(0, 1)
        logits = (keys @ query[:, :, None]).squeeze(2) / (hidden // heads) ** 0.5
        expected = torch.softmax(logits, dim=1).mean(dim=0)
    torch.testing.assert_close(attention_reader(model)(window)[0], expected)


def test_architectures_without_attention_are_refused(tmp_path: Path) -> None:
    settings = Settings(users=200, architecture="markov", threads=1)
    train_model(settings, tmp_path / "markov.pt", show_progress=False)
    model, _ = load_model(tmp_path / "markov.pt")
    with pytest.raises(NoAttention, match=r"^markov models have no attention") as exc:
        attention_reader(model)
    assert str(exc.value).endswith("explain supports lstm-attn, narm, sasrec")
