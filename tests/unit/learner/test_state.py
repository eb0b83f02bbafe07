"""The learner's state file: numpy arrays and tensors round-trip; it loads as data only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from streamrec.learner.state import StateError, load_state, save_state


def test_state_round_trips(tmp_path: Path) -> None:
    state: dict[str, Any] = {
        "counts": np.arange(5, dtype=np.int64),
        "weights": np.linspace(0, 1, 3),
        "nested": {"t": torch.ones(2), "xs": [np.int64(3), 1.5, "a"]},
        "when": float("nan"),
    }
    save_state(tmp_path / "s.pt", state, {0: 12.5, 3: 7.0})
    got, marks = load_state(tmp_path / "s.pt")
    assert marks == {0: 12.5, 3: 7.0}
    assert got["counts"].tolist() == [0, 1, 2, 3, 4] and got["counts"].dtype == np.int64
    assert np.array_equal(got["weights"], state["weights"])
    assert torch.equal(got["nested"]["t"], torch.ones(2))
    assert got["nested"]["xs"] == [3, 1.5, "a"] and np.isnan(got["when"])


def test_a_file_that_is_not_a_state_is_refused(tmp_path: Path) -> None:
    (tmp_path / "bad.pt").write_bytes(b"not a zip")
    with pytest.raises(StateError, match="does not load"):
        load_state(tmp_path / "bad.pt")
    torch.save({"format": "other"}, tmp_path / "other.pt")
    with pytest.raises(StateError, match="not a StreamRec"):
        load_state(tmp_path / "other.pt")
