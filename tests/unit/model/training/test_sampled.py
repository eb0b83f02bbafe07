"""The sampled softmax (``--loss sampled``): popularity negatives, logQ, accidental hits."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from streamrec.model.checkpoint import read_checkpoint
from streamrec.model.training.sampled import PopularitySampler, sampled_softmax_loss, sampler_for
from tests.models import train_tiny_model


def test_negatives_follow_popularity_and_log_q_is_their_distribution() -> None:
    targets = np.array([0] * 900 + [1] * 100 + [2])
    sampler = PopularitySampler(targets, n_items=4, n_sample=4, alpha=1.0, seed=1)
    drawn = torch.cat([sampler.draw() for _ in range(5000)]).numpy()
    shares = np.bincount(drawn, minlength=4) / len(drawn)
    assert np.allclose(shares, torch.exp(sampler.log_q).numpy(), atol=0.01)
    assert shares[0] > shares[1] > shares[2] > shares[3] > 0  # unclicked items still drawn
    assert float(torch.exp(sampler.log_q).sum()) == pytest.approx(1.0)


def test_with_every_other_item_as_negative_and_uniform_q_it_is_the_full_softmax() -> None:
    torch.manual_seed(0)
    n, d = 30, 6
    weight, bias, vectors = torch.randn(n, d), torch.randn(n), torch.randn(1, d)
    target = torch.tensor([7])
    sampler = PopularitySampler(np.arange(n), n_items=n, n_sample=n - 1)  # uniform popularity
    others = torch.tensor([i for i in range(n) if i != 7])
    sampler.draw = lambda: others  # type: ignore[method-assign]
    sampled = sampled_softmax_loss(vectors, target, (weight, bias), sampler)
    full = F.cross_entropy(vectors @ weight.T + bias, target)
    assert float(sampled) == pytest.approx(float(full), abs=1e-5)


def test_a_target_repeated_in_the_batch_or_drawn_is_not_its_own_negative() -> None:
    torch.manual_seed(0)
    weight, vectors = torch.randn(10, 4), torch.randn(3, 4)
    targets = torch.tensor([2, 2, 5])
    sampler = PopularitySampler(np.arange(10), n_items=10, n_sample=3)
    sampler.draw = lambda: torch.tensor([2, 5, 9])  # type: ignore[method-assign]
    loss = sampled_softmax_loss(vectors, targets, (weight, None), sampler)
    # row 0's columns: itself, [row 1's 2: masked], 5, [drawn 2: masked], 5, 9
    logits = vectors @ weight[torch.tensor([2, 2, 5, 2, 5, 9])].T - sampler.log_q[0]
    keep0 = torch.tensor([0, 2, 4, 5])
    keep1 = torch.tensor([1, 2, 4, 5])
    keep2 = torch.tensor([0, 1, 2, 3, 5])  # its own column 2 is the label; drawn 5 masked
    expected = torch.stack([
        F.cross_entropy(logits[0, keep0][None], torch.tensor([0])),
        F.cross_entropy(logits[1, keep1][None], torch.tensor([0])),
        F.cross_entropy(logits[2, keep2][None], torch.tensor([2])),
    ]).mean()  # fmt: skip
    assert float(loss) == pytest.approx(float(expected), abs=1e-5)
    assert sampler_for("full", np.arange(3), 3, 0) is None


@pytest.mark.parametrize("name", ["lstm-attn", "narm", "sasrec"])
def test_architectures_train_with_the_sampled_loss(name: str, tmp_path: Path) -> None:
    model = train_tiny_model(
        tmp_path / "m.pt", architecture=name, loss="sampled", max_train_sessions=200,
        validation_sample=500, users=2000,
    )  # fmt: skip
    _state, meta = read_checkpoint(model.path)
    assert meta.architecture == name
    history = json.loads((tmp_path / "m.history.json").read_text())
    text = json.dumps(history)
    assert '"sampled"' in text, "the recipe records the sampled loss"
    losses = [float(x) for x in __import__("re").findall(r'"train_loss": ([0-9.eE+-]+)', text)]
    assert losses and all(np.isfinite(losses))
