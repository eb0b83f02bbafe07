"""The JSON the consumer writes: arrays of a batch's rows in one call, exact float32 scores,
message scores rounded to 6 decimals."""

from __future__ import annotations

import json

import numpy as np
import pytest

from streamrec.contract.messages import json_array, json_rows, message_scores


def test_int_arrays_are_json() -> None:
    assert json.loads(json_array([3, 0, -7, 4_999])) == [3, 0, -7, 4_999]
    assert json.loads(json_array([])) == []
    assert json.loads(json_array(np.array([5, 6], dtype=np.int64))) == [5, 6]


def test_rows_are_the_json_of_each_row() -> None:
    rng = np.random.default_rng(1)
    items = rng.integers(0, 2**53, size=(300, 20))
    rows = json_rows(items)
    assert [json.loads(r) for r in rows] == items.tolist()
    assert json_rows(items[:, :1]) == [f"[{x}]".encode() for x in items[:, 0]]
    assert json_rows(items[:1]) == [json_array(items[0])]
    assert json_rows(items[:, ::-1]) == [json_array(row) for row in items[:, ::-1].tolist()]


def test_empty_shapes() -> None:
    assert json_rows(np.zeros((0, 20), dtype=np.int64)) == []
    assert json_rows(np.zeros((2, 0), dtype=np.float32)) == [b"[]", b"[]"]


def test_stored_float32_scores_round_trip_exactly() -> None:
    rng = np.random.default_rng(0)
    scores = (rng.standard_normal((2_000, 20)) * 10).astype(np.float32)
    scores[0, :5] = scores[0, 5]  # ties must stay ties
    scores[1, :3] = [np.float32(1e-45), np.float32(-3.4e38), np.float32(0.0)]  # extremes
    for row, text in zip(scores, json_rows(scores), strict=True):
        back = np.asarray(json.loads(text), dtype=np.float32)
        assert np.array_equal(back, row)
    assert len(set(json.loads(json_rows(scores)[0])[:6])) == 1


def test_non_finite_scores_are_refused_not_written_as_null() -> None:
    for bad in (np.nan, np.inf, -np.inf):
        with pytest.raises(ValueError, match="finite"):
            json_rows(np.array([[1.0, bad]], dtype=np.float32))
    with pytest.raises(ValueError, match="2-D"):
        json_rows(np.array([1.0, 2.0]))


def test_message_scores_have_at_most_six_decimals() -> None:
    rng = np.random.default_rng(2)
    scores = (rng.standard_normal((500, 20)) * 10).astype(np.float32)
    scores[0, :3] = [2.5, 1.23456789, -0.5]
    for row, text in zip(scores, json_rows(message_scores(scores)), strict=True):
        values = json.loads(text)
        assert np.allclose(values, row.astype(np.float64), rtol=0, atol=5e-7 + 1e-12)
        assert all(v == float(f"{v:.6f}") for v in values)  # 6 decimals, no more
    assert json.loads(json_rows(message_scores(scores[:1]))[0])[:3] == [2.5, 1.234568, -0.5]
