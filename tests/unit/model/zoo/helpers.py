"""What every architecture's tests check the same way."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from streamrec.config import Settings
from streamrec.model.data.loading import prepare_data
from streamrec.model.training.workflow import TrainResult, train_model
from streamrec.model.zoo import load_model


def trained_and_reloaded(settings: Settings, out: Path) -> TrainResult:
    """Train ``settings.architecture`` into ``out`` and check the checkpoint: it records the
    architecture and the last epoch's figures, and two loads score a batch identically."""
    result = train_model(settings, out, show_progress=False)
    assert 0.0 < result.history[-1].hit_at_20 <= 1.0
    data = prepare_data(settings)
    model, meta = load_model(out, expect_n_items=data.corpus.n_items)
    again, _ = load_model(out)
    assert meta.architecture == settings.architecture
    assert meta.metrics["hit_at_20"] == pytest.approx(result.history[-1].hit_at_20)
    batch = data.val.subset(np.arange(64))
    scores = model.scorer().score(batch)
    assert torch.equal(scores, again.scorer().score(batch))
    assert scores.shape == (64, data.corpus.n_items)
    return result
