"""The SASRec + V-SKNN hybrid: a convex blend of two distributions, trained and reloaded,
served online exactly as offline."""

from pathlib import Path

import numpy as np
import pytest
import torch

from streamrec.config import Settings
from streamrec.model.checkpoint import CheckpointError
from streamrec.model.data.loading import prepare_data
from streamrec.model.scoring import ScoreRequest, WindowBatch
from streamrec.model.zoo import load_model
from streamrec.model.zoo.hybrid import HybridConfig, HybridModel, HybridScorer
from tests.unit.model.zoo.helpers import trained_and_reloaded

TINY = Settings(users=300, epochs=1, architecture="hybrid", threads=1)


class Fixed:
    """A scorer that returns the same rows whatever it is asked."""

    def __init__(self, rows: list[list[float]]) -> None:
        self.rows = torch.tensor(rows)

    def score(self, batch: object) -> torch.Tensor:
        return self.rows


def test_the_blend_mixes_two_distributions_and_leaves_unmatched_prefixes_to_sasrec() -> None:
    logits = [[0.0, 0.0, 0.0, 0.0], [2.0, 1.0, 0.0, 0.0]]
    votes = [[0.0, 3.0, 1.0, 0.0], [0.0, 0.0, 0.0, 0.0]]  # the second prefix has no neighbour
    blend = HybridScorer(Fixed(logits), Fixed(votes), 0.4).score(None)  # type: ignore[arg-type]
    assert torch.allclose(blend.sum(dim=1), torch.ones(2))
    expected_first = 0.6 * torch.full((4,), 0.25) + 0.4 * torch.tensor([0.0, 0.75, 0.25, 0.0])
    assert torch.allclose(blend[0], expected_first)
    assert torch.allclose(blend[1], torch.softmax(torch.tensor(logits[1]), dim=0))
    assert blend[0].argmax() == 1  # the neighbours' favourite wins when SASRec is indifferent


def test_the_weight_is_validated() -> None:
    for weight in (-0.1, 1.5):
        with pytest.raises(ValueError, match=r"in \[0, 1\]"):
            HybridConfig(weight).validate()


def test_trains_reloads_and_serves_online_as_offline(tmp_path: Path) -> None:
    out = tmp_path / "hybrid.pt"
    trained_and_reloaded(TINY, out)
    model, meta = load_model(out)
    assert isinstance(model, HybridModel)
    assert meta.config["weight"] == HybridConfig().weight
    assert set(meta.config) == {"weight", "sasrec", "vsknn"}
    assert model.n_parameters() == model.neural.n_parameters() + model.neighbours.n_parameters()
    data = prepare_data(TINY)
    windows = [tuple(row[row > 0] - 1) for row in data.val.windows[:40]]
    offline = model.scorer().score(WindowBatch.from_windows(windows, meta.max_len))
    online = model.streaming_scorer(meta.max_len, "auto", 1 << 20).score_requests(
        [ScoreRequest(f"s{i}", tuple(int(x) for x in w)) for i, w in enumerate(windows)]
    )
    assert torch.equal(offline, online)
    assert np.allclose(offline.sum(dim=1).numpy(), 1.0, atol=1e-5)


def test_a_state_entry_of_no_part_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "hybrid.pt"
    trained_and_reloaded(TINY, out)
    payload = torch.load(out, weights_only=True)
    payload["state"]["extra.thing"] = torch.zeros(1)
    torch.save(payload, out)
    with pytest.raises(CheckpointError, match="unexpected state entry"):
        load_model(out)
