"""The demo under a drift scenario: when the drift reached the stream, and each phase's
figures offline (the served model and the oracle) and online (the over-time windows).

The replay sends held-out sessions in stream order, so the sessions drawn before the moment
go out first and those after it follow (the two overlap only while the last sessions of the
first phase are still open). ``DriftMark`` notes the wall-clock time at which the first
click of a session of the second phase was sent; on the over-time series' clock that is
``drift_s``. Windows that end by ``drift_s`` count as before the drift, windows that start
at or after it as after (so the sessions of the first phase still open at the moment count
after it: the online view cannot tell them apart).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from streamrec.config import Settings
from streamrec.model.evaluation.oracle import OracleScorer
from streamrec.model.evaluation.phases import PHASE_NAMES, phase_reports
from streamrec.model.zoo import load_model
from streamrec.pipeline.overtime import OracleLine, Window
from streamrec.producer.sources import ReplaySessions

FIGURES = ("hit_at_10", "hit_at_20", "mrr_at_20", "n_examples")


class DriftMark:
    """A replay's ``on_session_start`` hook: the wall-clock time (``time.time()``) at which
    the first click of a session of the second phase was sent (None until then)."""

    def __init__(self, sessions: ReplaySessions) -> None:
        phases = sessions.phases() or [0] * len(sessions)
        ids = sessions.corpus.session_ids
        self.after = {ids[i] for i, phase in zip(sessions.indices, phases) if phase > 0}
        self.sent_at: float | None = None

    def on_session_start(self, session_id: str) -> None:
        """Note the moment when this is the first session of the second phase."""
        if self.sent_at is None and session_id in self.after:
            self.sent_at = time.time()


def offline_phases(model_path: Path, sessions: ReplaySessions) -> dict[str, dict[str, Any]]:
    """Per phase (``before``, ``after``): the served model's and the oracle's offline reports
    on that phase's replayed sessions (``{"model": ..., "oracle": ...}``)."""
    corpus = sessions.corpus
    model, _ = load_model(model_path, expect_n_items=corpus.n_items)
    examples = sessions.examples()
    by_scorer = {
        "model": phase_reports(model.scorer(), examples, corpus),
        "oracle": phase_reports(OracleScorer(corpus), examples, corpus),
    }
    return {phase: {k: v[phase] for k, v in by_scorer.items()} for phase in PHASE_NAMES}


def online_phases(series: Sequence[Window], drift_s: float) -> dict[str, dict[str, Any]]:
    """Online Hit@10 over the windows wholly before and wholly after ``drift_s`` (the sum of
    their hits over the sum of their evaluations; None when they evaluated nothing)."""
    sides = {
        "before": [w for w in series if w.end_s <= drift_s],
        "after": [w for w in series if w.start_s >= drift_s],
    }
    out = {}
    for name, chosen in sides.items():
        evaluations = sum(w.evaluations for w in chosen)
        hits = sum(w.hits_10 for w in chosen)
        out[name] = {
            "hit_at_10": round(hits / evaluations, 6) if evaluations else None,
            "hits_at_10": hits,
            "evaluations": evaluations,
            "windows": len(chosen),
        }
    return out


@dataclass
class DriftReport:
    """The summary's ``drift`` object; ``note_windows`` adds the online side once the
    over-time windows are cut."""

    scenario: str
    drift_at: float
    drift_s: float | None  # None when no click of the second phase was sent or sampled
    offline: dict[str, dict[str, Any]]  # offline_phases
    sessions: dict[str, int]  # replayed sessions per phase
    online: dict[str, dict[str, Any]] | None = None  # online_phases

    def oracle_line(self, end_s: float) -> OracleLine | None:
        """The oracle's Hit@10 as a step for the plot: the first phase's until ``drift_s``,
        the second's from there until ``end_s`` (None without ``drift_s``)."""
        if self.drift_s is None:
            return None
        before, after = (self.offline[p]["oracle"]["hit_at_10"] for p in PHASE_NAMES)
        at, end = self.drift_s, max(end_s, self.drift_s)
        return [(0.0, before), (at, before), (at, after), (end, after)]

    def note_windows(self, series: Sequence[Window]) -> None:
        """Aggregate the over-time windows on each side of ``drift_s``."""
        if self.drift_s is not None and series:
            self.online = online_phases(series, self.drift_s)

    def to_json(self) -> dict[str, Any]:
        """``scenario``, ``drift_at``, ``drift_s``, and per phase the replayed sessions, the
        model's offline figures, the oracle's, and the online windows' Hit@10."""
        out: dict[str, Any] = {
            "scenario": self.scenario,
            "drift_at": self.drift_at,
            "drift_s": None if self.drift_s is None else round(self.drift_s, 3),
        }
        for phase in PHASE_NAMES:
            out[phase] = {
                "sessions": self.sessions[phase],
                "offline": {k: self.offline[phase]["model"][k] for k in FIGURES},
                "oracle": {k: self.offline[phase]["oracle"][k] for k in FIGURES},
                "online_windows": None if self.online is None else self.online[phase],
            }
        return out


def drift_report(
    settings: Settings,
    model_path: Path,
    sessions: ReplaySessions,
    mark: DriftMark,
    series_start: float | None,
) -> DriftReport:
    """The offline side of the report, with ``drift_s`` on the clock of the over-time series
    that starts at wall-clock ``series_start`` (None: no series)."""
    phases = sessions.phases() or [0] * len(sessions)
    drift_s = (
        None
        if mark.sent_at is None or series_start is None
        else max(mark.sent_at - series_start, 0.0)
    )
    return DriftReport(
        scenario=settings.scenario,
        drift_at=settings.drift_at,
        drift_s=drift_s,
        offline=offline_phases(model_path, sessions),
        sessions={name: phases.count(k) for k, name in enumerate(PHASE_NAMES)},
    )
