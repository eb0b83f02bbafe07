"""The consumer's hand-built JSON arrays are JSON, and stored scores keep float32 exactly."""

from __future__ import annotations

import json

import numpy as np

from streamrec.contract.messages import json_floats, json_ints


def test_int_arrays_are_json() -> None:
    assert json.loads(json_ints([3, 0, -7, 4_999])) == [3, 0, -7, 4_999]
    assert json.loads(json_ints([])) == []


def test_stored_float32_scores_round_trip_exactly() -> None:
    rng = np.random.default_rng(0)
    scores = (rng.standard_normal((2_000, 20)) * 10).astype(np.float32)
    scores[0, :5] = scores[0, 5]  # ties must stay ties
    for row in scores:
        back = np.asarray(json.loads(json_floats(row.tolist())), dtype=np.float32)
        assert np.array_equal(back, row)


def test_message_scores_with_six_decimals() -> None:
    assert json.loads(json_floats([1.23456789, -0.5], "%.6f")) == [1.234568, -0.5]
