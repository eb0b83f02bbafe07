"""A tiny training run: the loss falls, and a checkpoint round-trips safely."""

import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from streamrec.config import Settings
from streamrec.model.checkpoint import CheckpointError, read_checkpoint
from streamrec.model.data.loading import prepare_data
from streamrec.model.evaluation.evaluate import score_windows
from streamrec.model.networks.lstm import ModelConfig, SessionLSTMRecommender
from streamrec.model.training.trainer import (
    TrainConfig,
    Trainer,
    count_batches,
    length_bucketed_batches,
)
from streamrec.model.training.workflow import train_model
from streamrec.model.zoo.lstm_attn import load_network

TINY = Settings(users=300, epochs=1, threads=1)


def test_length_bucketed_batches_cover_every_example_once() -> None:
    lengths = np.array([1, 2, 2, 3, 3, 3, 25] * 40)
    batches = list(length_bucketed_batches(lengths, 16, np.random.default_rng(0)))
    assert len(batches) == count_batches(lengths, 16)
    flat = np.concatenate(batches)
    assert sorted(flat.tolist()) == list(range(len(lengths)))
    assert all(len(set(lengths[b].tolist())) == 1 for b in batches)


def test_one_epoch_lowers_the_loss() -> None:
    torch.manual_seed(0)
    data = prepare_data(TINY)
    model = SessionLSTMRecommender(ModelConfig(n_items=data.corpus.n_items))
    trainer = Trainer(model, TrainConfig(epochs=1, learning_rate=1e-2), "cpu")
    before, _ = trainer.validate(data.val, data.corpus.behaviors)
    trainer.train_epoch(data.train)
    after, report = trainer.validate(data.val, data.corpus.behaviors)
    assert after < before - 0.05
    assert report["n_examples"] == len(data.val)


def test_checkpoint_round_trip(tmp_path: Path) -> None:
    out = tmp_path / "m.pt"
    result = train_model(TINY, out, show_progress=False)
    assert out.is_file() and result.history_path.is_file() and result.plot_path.is_file()
    assert result.plot_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    data = prepare_data(TINY)
    loaded, meta = load_network(out, expect_n_items=data.corpus.n_items)
    assert meta.split == "session" and meta.seed == 42 and meta.max_len == 25
    assert meta.metrics["hit_at_10"] == pytest.approx(result.history[-1].hit_at_10)
    # identical predictions from a second independent load
    again, _ = load_network(out)
    a = score_windows(loaded, data.val.windows[:64], data.val.lengths[:64])
    b = score_windows(again, data.val.windows[:64], data.val.lengths[:64])
    assert torch.equal(a, b)


def test_checkpoint_with_wrong_catalog_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "m.pt"
    train_model(TINY, out, show_progress=False)
    with pytest.raises(CheckpointError, match="catalog of 5000 items"):
        read_checkpoint(out, expect_n_items=4000)


class _Exploit:
    def __reduce__(self):
        return (os.system, ("touch pwned-by-checkpoint",))


def test_pickle_checkpoint_is_refused_without_executing(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    evil = tmp_path / "evil.pt"
    torch.save({"format": "streamrec-checkpoint", "x": _Exploit()}, evil)  # a zip, like ours
    with pytest.raises(CheckpointError, match=r"refusing to load .* not a StreamRec checkpoint"):
        read_checkpoint(evil)
    assert not (tmp_path / "pwned-by-checkpoint").exists()


def test_garbage_and_missing_checkpoints_are_refused(tmp_path: Path) -> None:
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="is not a StreamRec checkpoint") as raised:
        read_checkpoint(junk)
    assert "weights_only" not in str(raised.value)
    raw_pickle = tmp_path / "raw.pt"
    raw_pickle.write_bytes(pickle.dumps({"format": "streamrec-checkpoint"}))
    with pytest.raises(CheckpointError, match="is not a StreamRec checkpoint"):
        read_checkpoint(raw_pickle)
    with pytest.raises(CheckpointError, match="no checkpoint"):
        read_checkpoint(tmp_path / "absent.pt")
    torch.save({"format": "streamrec-checkpoint", "format_version": 1}, tmp_path / "bare.pt")
    with pytest.raises(CheckpointError, match="missing"):
        read_checkpoint(tmp_path / "bare.pt")
