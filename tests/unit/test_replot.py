"""``bench/replot.py``: stored results' figures redrawn from their JSON, each beside it; a
JSON of another shape refused in one line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bench.replot import main

PNG = b"\x89PNG\r\n\x1a\n"
STEP = {"offered_events_per_s": 1000.0, "seconds": 10.0, "produced": 10000,
        "achieved_events_per_s": 990.0, "latency_ms": {"p50": 5.0, "p95": 9.0, "p99": 12.0},
        "lag_end": 3, "cpu_cores": {}, "keeps_up": True}  # fmt: skip
WINDOW = {"start_s": 0.0, "end_s": 5.0, "seconds": 5.0, "offered_events_per_s": 100.0,
          "sent_events_per_s": 100.0, "achieved_events_per_s": 100.0,
          "latency_ms": {"p50": 5.0, "p99": 9.0}, "lag": 0, "evaluations": 400,
          "hits_at_10": 40, "rr_sum_at_20": 12.0}  # fmt: skip
LAST = {
    **WINDOW,
    "start_s": 5.0,
    "end_s": 5.3,
    "seconds": 0.7,
    "evaluations": 50,
    "hits_at_10": 5,
    "rr_sum_at_20": 1.0,
}  # fmt: skip (an old report: no "partial")


def write(path: Path, data: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return path


def test_each_kind_of_result_is_redrawn_beside_its_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    steps = write(tmp_path / "steps" / "loadtest.json", {
        "saturation_events_per_s": 1000.0, "backend": "b", "consumers": 1, "model": "m",
        "step_seconds": 10.0, "steps": [STEP],
    })  # fmt: skip
    clock = write(tmp_path / "clock" / "loadtest.json", {
        "mode": "clock", "clock": "flat clock: 100 events/s, for 5s", "duration_s": 5.0,
        "clock_started_s": 0.0, "consumers": 1, "window_s": 5.0, "windows": [WINDOW, LAST],
        "oracle_hit_at_10": 0.3,
    })  # fmt: skip
    scaleout = write(tmp_path / "s" / "scaleout.json", {"efficiency": 0.5, "rows": [
        {"consumers": 1, "saturation_events_per_s": 1000.0, "saturation_is_lower_bound": False,
         "p99_ms_at_saturation": 50.0, "broker_cores": 0.5, "consumer_cores": 1.0,
         "producer_cores": 0.1, "broker_ms_per_1k_events": 1.0,
         "consumer_ms_per_1k_events": 2.0},
    ]})  # fmt: skip
    nan_epoch = {
        "epoch": 1,
        "train_loss": None,
        "val_loss": None,
        "hit_at_10": 0.2,
        "hit_at_20": 0.3,
        "mrr_at_20": 0.1,
        "train_seconds": 1.0,
        "eval_seconds": 1.0,
    }
    history = write(tmp_path / "h" / "markov.history.json", {
        "architecture": "markov", "source": "g", "split": "session", "n_train": 10, "n_val": 5,
        "epochs": [nan_epoch],
    })  # fmt: skip
    compare = write(tmp_path / "c" / "compare-x.json", {"source": "g", "rows": [
        {"model": "markov", "hit_at_10": 0.2, "hit_at_20": 0.3, "mrr_at_20": 0.1,
         "coverage_at_20": 0.4, "n_examples": 5, "train_seconds": 1.0, "params": 10,
         "scoring_events_per_s": 100.0},
    ]})  # fmt: skip
    assert main([str(p) for p in (steps, clock, scaleout, history, compare)]) == 0
    expected = [
        steps.with_name("loadtest.png"), clock.with_name("loadtest.png"),
        clock.with_name("online-over-time.png"), scaleout.with_name("scaleout.png"),
        history.with_name("markov.curves.png"), compare.with_name("compare-x.png"),
    ]  # fmt: skip
    assert capsys.readouterr().out.split() == [str(p) for p in expected]
    assert all(p.read_bytes()[:8] == PNG for p in expected)


def test_a_json_of_another_shape_is_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = write(tmp_path / "other.json", {"hello": 1})
    assert main([str(other)]) == 2
    assert (
        capsys.readouterr().err == f"replot: error: {other}: not a result this script can redraw\n"
    )
    assert main([str(tmp_path / "missing.json")]) == 2
    assert capsys.readouterr().err.startswith("replot: error: ")
    assert main([]) == 2
