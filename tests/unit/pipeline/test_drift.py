"""The demo under a drift scenario: the moment the drift reached the stream, each phase's
offline figures, and the online windows on each side of the moment."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from streamrec.config import Settings
from streamrec.pipeline.demo import offline_report
from streamrec.pipeline.drift import DriftMark, DriftReport, drift_report, online_phases
from streamrec.pipeline.overtime import CounterSample, windows
from streamrec.producer.sources import ReplaySessions, replay_sessions
from tests.models import train_tiny_model

DRIFT = Settings(users=600, scenario="new-items")


@pytest.fixture(scope="module")
def replay() -> ReplaySessions:
    return replay_sessions(DRIFT, max_sessions=60)


def test_the_mark_is_the_first_session_of_the_second_phase(replay: ReplaySessions) -> None:
    phases = replay.phases()
    assert phases is not None
    ids = [replay.corpus.session_ids[i] for i in replay.indices]
    first_after = ids[phases.index(1)]
    mark = DriftMark(replay)
    mark.on_session_start(ids[0])
    assert mark.sent_at is None  # a session of the first phase
    mark.on_session_start(ids[-1])  # any session of the second phase marks the moment
    at = mark.sent_at
    assert at is not None
    mark.on_session_start(first_after)
    assert mark.sent_at == at  # only the first one counts


def test_online_hit_at_10_is_pooled_over_the_windows_wholly_on_each_side() -> None:
    steps = [(100, 30), (100, 40), (100, 10), (100, 20)]  # (evaluations, hits) per second
    samples, n, h = [CounterSample(0.0, 0, 0, 0.0)], 0, 0
    for t, (dn, dh) in enumerate(steps, 1):
        n, h = n + dn, h + dh
        samples.append(CounterSample(float(t), n, h, 0.0))
    series = windows(samples, 1.0)
    at_two = online_phases(series, 2.0)
    assert at_two["before"] == {"hit_at_10": 0.35, "hits_at_10": 70, "evaluations": 200,
                                "windows": 2}  # fmt: skip
    assert at_two["after"]["hit_at_10"] == 0.15
    inside = online_phases(series, 2.5)  # the window holding the moment counts on no side
    assert (inside["before"]["windows"], inside["after"]["windows"]) == (2, 1)
    assert online_phases(series, 9.0)["after"] == {
        "hit_at_10": None, "hits_at_10": 0, "evaluations": 0, "windows": 0,
    }  # fmt: skip


def test_the_report_has_each_phase_offline_with_the_oracle(
    replay: ReplaySessions, tmp_path: Path
) -> None:
    model = train_tiny_model(tmp_path / "markov.pt", architecture="markov", users=600,
                             scenario="new-items")  # fmt: skip
    mark = DriftMark(replay)
    mark.sent_at = 1003.5
    report = drift_report(DRIFT, model.path, replay, mark, series_start=1000.0)
    assert report.drift_s == 3.5
    whole = offline_report(model.path, replay)
    sides = [report.offline[p] for p in ("before", "after")]
    assert sum(s["model"]["n_examples"] for s in sides) == whole["n_examples"]
    hits = sum(s["model"]["hit_at_10"] * s["model"]["n_examples"] for s in sides)
    assert hits == pytest.approx(whole["hit_at_10"] * whole["n_examples"], abs=1e-6)
    for side in sides:
        assert side["oracle"]["n_examples"] == side["model"]["n_examples"] > 100
        assert side["oracle"]["hit_at_10"] > side["model"]["hit_at_10"]
    summary = report.to_json()
    phases = replay.phases() or []
    assert summary["before"]["sessions"] == phases.count(0) == 30
    assert summary["after"]["online_windows"] is None  # until note_windows
    oracle = [s["oracle"]["hit_at_10"] for s in sides]
    assert report.oracle_line(10.0) == [
        (0.0, oracle[0]), (3.5, oracle[0]), (3.5, oracle[1]), (10.0, oracle[1]),
    ]  # fmt: skip
    unsampled = drift_report(DRIFT, model.path, replay, mark, series_start=None)
    assert unsampled.drift_s is None and unsampled.oracle_line(10.0) is None


def test_the_summary_names_each_phase_without_windows_when_the_moment_was_not_seen() -> None:
    figures: dict[str, Any] = {"hit_at_10": 0.3, "hit_at_20": 0.4, "mrr_at_20": 0.1,
                               "n_examples": 10, "per_behavior": {}}  # fmt: skip
    offline = {p: {"model": figures, "oracle": figures} for p in ("before", "after")}
    report = DriftReport("new-items", 0.5, None, offline, {"before": 1, "after": 2})
    report.note_windows(windows([CounterSample(0.0, 0, 0, 0.0), CounterSample(1, 5, 1, 0)], 1))
    summary = report.to_json()
    assert summary["drift_s"] is None and summary["after"]["online_windows"] is None
    assert "per_behavior" not in summary["before"]["offline"]
