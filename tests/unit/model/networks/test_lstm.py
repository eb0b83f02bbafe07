"""The seed's architecture, and the fast path computes the same function."""

import numpy as np
import torch

from streamrec.model.networks.lstm import ModelConfig, SessionLSTMRecommender, count_parameters

# The seed prints 951,192; its own code gives this (embedding 5001x64, 2-layer LSTM 64->128,
# attention 128x128 + vector, output 128x5000).
DEFAULT_PARAMETERS = 1_213_128


def test_default_parameter_count() -> None:
    assert count_parameters(SessionLSTMRecommender()) == DEFAULT_PARAMETERS


def _windows(n_items: int, lengths: list[int], max_len: int = 25) -> torch.Tensor:
    rng = np.random.default_rng(1)
    x = torch.zeros(len(lengths), max_len, dtype=torch.long)
    for row, length in enumerate(lengths):
        x[row, max_len - length :] = torch.from_numpy(rng.integers(1, n_items + 1, size=length))
    return x


def test_bucketed_forward_equals_seed_forward_in_eval() -> None:
    torch.manual_seed(0)
    model = SessionLSTMRecommender(ModelConfig(n_items=300, window_start="padding")).eval()
    lengths = [1, 2, 3, 7, 7, 13, 24, 25, 25, 1]
    x = _windows(300, lengths)
    with torch.no_grad():
        reference, _ = model(x)
        fast = model.forward_bucketed(x, torch.tensor(lengths))
    assert torch.allclose(reference, fast, atol=1e-5)
    # single-length batches take the no-scatter path
    with torch.no_grad():
        single = model.forward_bucketed(x[3:5], torch.tensor([7, 7]))
    assert torch.allclose(reference[3:5], single, atol=1e-5)


def test_padding_cache_follows_weight_changes() -> None:
    torch.manual_seed(0)
    model = SessionLSTMRecommender(ModelConfig(n_items=50, window_start="padding")).eval()
    x = _windows(50, [3, 3])
    with torch.no_grad():
        before = model.forward_bucketed(x, torch.tensor([3, 3]))
        dict(model.lstm.named_parameters())["bias_hh_l0"].add_(0.5)
        model.load_state_dict(model.state_dict())
        after = model.forward_bucketed(x, torch.tensor([3, 3]))
        reference, _ = model(x)
    assert not torch.allclose(before, after)
    assert torch.allclose(after, reference, atol=1e-5)


def test_training_path_has_gradients_through_padding_state() -> None:
    torch.manual_seed(0)
    model = SessionLSTMRecommender(ModelConfig(n_items=40, window_start="padding")).train()
    x = _windows(40, [4, 4, 4])
    loss = model.forward_bucketed(x, torch.tensor([4, 4, 4])).logsumexp(dim=1).sum()
    loss.backward()
    grad = dict(model.lstm.named_parameters())["bias_hh_l0"].grad
    assert grad is not None
    assert float(grad.abs().sum()) > 0


def _zero_start_reference(model: SessionLSTMRecommender, x: torch.Tensor) -> torch.Tensor:
    """Per example: the LSTM over the clicks only, from the zero state, attention over them."""
    rows = []
    for window in x:
        clicks = window[window != 0].unsqueeze(0)
        out, _ = model.lstm(model.item_embedding(clicks))
        weights = torch.softmax(
            (torch.tanh(model.attention_proj(out)) * model.attention_vector).sum(dim=2), dim=1
        )
        rows.append(model.output((weights.unsqueeze(2) * out).sum(dim=1)))
    return torch.cat(rows)


def test_zero_start_forward_ignores_padding_and_matches_fast_path() -> None:
    torch.manual_seed(0)
    model = SessionLSTMRecommender(ModelConfig(n_items=300, window_start="zero")).eval()
    lengths = [1, 2, 3, 7, 7, 13, 24, 25, 25, 1]
    x = _windows(300, lengths)
    with torch.no_grad():
        reference = _zero_start_reference(model, x)
        logits, weights = model(x)
        fast = model.forward_bucketed(x, torch.tensor(lengths))
    assert torch.allclose(reference, logits, atol=1e-5)
    assert torch.allclose(reference, fast, atol=1e-5)
    # weights come back at the input positions: zero on padding, a distribution on clicks
    assert torch.all(weights[x == 0] == 0)
    assert torch.allclose(weights.sum(dim=1), torch.ones(len(lengths)), atol=1e-6)


def test_window_start_decides_short_windows_only() -> None:
    torch.manual_seed(0)
    padded = SessionLSTMRecommender(ModelConfig(n_items=100, window_start="padding")).eval()
    zero = SessionLSTMRecommender(ModelConfig(n_items=100, window_start="zero")).eval()
    zero.load_state_dict(padded.state_dict())
    x = _windows(100, [25, 25, 5])
    with torch.no_grad():
        a, _ = padded(x)
        b, _ = zero(x)
    assert torch.allclose(a[:2], b[:2], atol=1e-5)  # full windows: no padding to run over
    assert not torch.allclose(a[2], b[2], atol=1e-3)


def test_unknown_window_start_is_refused() -> None:
    try:
        ModelConfig(window_start="middle").validate()
    except ValueError as exc:
        assert "window_start" in str(exc)
    else:
        raise AssertionError("accepted an unknown window_start")
