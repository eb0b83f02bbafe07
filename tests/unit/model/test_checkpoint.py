"""Checkpoints from before architectures were recorded still load, as the seed's LSTM."""

from __future__ import annotations

from pathlib import Path

import torch

from streamrec.model.networks.lstm import ModelConfig, SessionLSTMRecommender
from streamrec.model.scoring import WindowBatch
from streamrec.model.zoo import load_model


def test_a_format_1_checkpoint_loads_as_lstm_attn(tmp_path: Path) -> None:
    torch.manual_seed(0)
    network = SessionLSTMRecommender(ModelConfig(n_items=40, window_start="zero")).eval()
    old = tmp_path / "old.pt"
    torch.save(
        {
            "format": "streamrec-checkpoint", "format_version": 1,
            "state_dict": network.state_dict(), "config": network.config.to_dict(),
            "n_items": 40, "split": "session", "seed": 42, "source": "generated",
            "max_len": 25, "metrics": {}, "recipe": {}, "item_ids": None, "version": "0.1.0",
        },
        old,
    )  # fmt: skip
    model, meta = load_model(old)
    assert (meta.architecture, meta.n_items, model.n_parameters()) == ("lstm-attn", 40, sum(
        p.numel() for p in network.parameters()
    ))  # fmt: skip
    windows = [tuple(w) for w in ([1, 2, 3], [5], [7, 8])]
    batch = WindowBatch.from_windows(windows, 25)
    with torch.no_grad():
        expected, _ = network(torch.from_numpy(batch.windows))
    assert torch.allclose(model.scorer().score(batch), expected, atol=1e-5)
