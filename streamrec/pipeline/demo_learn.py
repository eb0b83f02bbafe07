"""``streamrec demo --learn``: a model that learns from the stream beside the same model frozen.

The demo starts a learner process (``streamrec learn``) on the clicks topic; its consumers
follow the learner's version directory (``consume --follow``): each event is served by the
version its event time calls for, the *learning* arm (``primary``). The frozen checkpoint
(``--shadow-model``, by default the one the learner starts from) scores every event beside it
as a shadow, the *frozen* arm. Both arms see the same windows: every click joins them, a click
an arm's model does not know stays in its place as padding, and a target it does not know is
its miss.

Event times are the times the producer sends the clicks (wall clock). ``--refresh R`` is a
period of the stream's own time: under ``--clock replay --speedup X`` the log's R passes in
R / X seconds, so the learner publishes a version every R / X seconds of event time; under
the flat clock (generated data) R is wall-clock seconds of the replay.

Offline, each arm is scored on the very clicks sent, with their event times (``SentLog``):
the learning arm by the prequential evaluator under the learner's own schedule (its t0 and
period, the version of the served click's time: ``version_time="served"``), the frozen arm by
the same evaluator with refresh ``never`` (the frozen model on the stream, new items kept).
Online must equal offline within ``TOLERANCE`` for both arms; ``agreement`` says whether it
did. Under a drift scenario each arm is also scored offline on the sessions before and after
the moment (``phases``), beside the online windows on each side (Hit@10).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console

from streamrec.config import ConfigError, Settings
from streamrec.contract.events import ClickEvent
from streamrec.contract.names import PRIMARY, SHADOW
from streamrec.model.data.clicklog import LogSessions
from streamrec.model.data.stream_log import clicks_in_time_order
from streamrec.model.evaluation.phases import PHASE_NAMES
from streamrec.model.evaluation.prequential import (
    Predictions,
    PrequentialResult,
    evaluate_stream,
)
from streamrec.model.versions import latest_valid, read_schedule
from streamrec.progress import ProgressBoard
from streamrec.refresh import refresh_label

TOLERANCE = 0.002  # online vs offline, every figure of both arms
VERSION_WAIT_MS = 120_000  # a consumer waits this long for a version (then serves stale)
IDLE_TIMEOUT_S = 1.0  # the learner's idle partitions
FIRST_SESSION_KEY = 10**9  # offline session keys of the stream, apart from the history's
FIGURES = ("hit_at_10", "hit_at_20", "mrr_at_20")
ARM_ROLES = {PRIMARY: "learning", SHADOW: "frozen"}


@dataclass(frozen=True)
class LearnPlan:
    """``--learn``: the refresh period in the stream's own time, and the replay's speed-up."""

    refresh_s: float
    speedup: float = 1.0

    @property
    def event_refresh_s(self) -> float:
        """The learner's period in event time (the producer's send times)."""
        return self.refresh_s / self.speedup

    def describe(self) -> str:
        """One line: how often versions come."""
        every = refresh_label(self.refresh_s)
        if self.speedup == 1.0:
            return f"a version every {every} of event time"
        return (
            f"a version every {every} of the log's time ({self.event_refresh_s:.3g}s of "
            f"event time at {self.speedup:g}x)"
        )


class SentLog:
    """The events the producer sent, as it sent them (a replay's ``on_sent`` hook)."""

    def __init__(self) -> None:
        self.events: list[ClickEvent] = []

    def __call__(self, event: ClickEvent) -> None:
        self.events.append(event)

    def sessions(self, keep: set[str] | None = None) -> LogSessions:
        """The sent sessions (``keep``: only these ids) in order of their first click, each
        click at its event time."""
        items: dict[str, list[int]] = {}
        times: dict[str, list[float]] = {}
        for e in sorted(self.events, key=lambda e: (e.session_id, e.seq)):
            if keep is None or e.session_id in keep:
                items.setdefault(e.session_id, []).append(e.item_id)
                times.setdefault(e.session_id, []).append(e.ts)
        ids = sorted(items, key=lambda s: (times[s][0], s))
        return LogSessions(
            ids, [items[s] for s in ids], [times[s][0] for s in ids], "demo replay",
            [times[s] for s in ids],
        )  # fmt: skip


def learning_model(settings: Settings, work: Path, console: Console) -> tuple[Path, Settings]:
    """The checkpoint the learner starts from and the settings that describe its training
    data: ``--model`` when given (an architecture that can learn), else a markov model
    fitted now on the run's data (counts: seconds), into ``work``."""
    from streamrec.model.checkpoint import read_checkpoint
    from streamrec.model.zoo import ARCHITECTURES, updatable

    if "model_path" in settings.explicit:
        if not settings.model_path.is_file():
            raise ConfigError(f"no checkpoint at {settings.model_path} (--model)")
        _, meta = read_checkpoint(settings.model_path)
        if ARCHITECTURES[meta.architecture].learner is None:
            raise ConfigError(
                f"--learn: {settings.model_path} is a {meta.architecture} model, which cannot "
                f"learn from the stream; these can: {', '.join(updatable())}"
            )
        return settings.model_path, settings
    from streamrec.model.training.workflow import train_model

    path = work / "markov-start.pt"
    fitted = settings.with_overrides(
        {"architecture": "markov", "max_train_sessions": 0, "model_path": path}
    )
    console.print(f"--learn: fitting a markov model on the training part -> {path}")
    train_model(fitted, path, console=console)
    return path, fitted


def prequential_figures(result: PrequentialResult) -> dict[str, Any]:
    """A prequential result as the demo's offline figures (no behaviour groups)."""
    return {
        **{k: getattr(result, k) for k in FIGURES},
        "n_examples": result.predictions,
        "per_behavior": {},
        "unknown_targets": result.unknown_targets,
        "versions": result.versions,
    }


@dataclass
class LearnReport:
    """The summary's ``learn`` object."""

    plan: LearnPlan
    t0: float | None
    versions_published: int
    new_item_clicks: int  # clicks on items version 0 does not know
    arms: dict[str, dict[str, Any]]  # label -> role, model, online, offline, difference
    phases: dict[str, dict[str, Any]] | None = None  # label -> phase -> figures
    stale: int = 0
    unknown_item: int = 0  # the learning arm's clicks its version did not know
    online_phases: dict[str, dict[str, Any]] = field(default_factory=dict)
    legend: dict[str, str] = field(default_factory=dict)  # the plot's name of each arm

    @property
    def agreement(self) -> bool:
        """Whether online equals offline within ``TOLERANCE`` for every arm and figure."""
        return all(a["max_difference"] <= TOLERANCE for a in self.arms.values())

    def to_json(self) -> dict[str, Any]:
        """The ``learn`` object of ``--json``."""
        return {
            "refresh": refresh_label(self.plan.refresh_s),
            "speedup": self.plan.speedup,
            "event_refresh_s": round(self.plan.event_refresh_s, 6),
            "t0": self.t0,
            "versions_published": self.versions_published,
            "new_item_clicks": self.new_item_clicks,
            "unknown_item": self.unknown_item,
            "stale": self.stale,
            "tolerance": TOLERANCE,
            "agreement": self.agreement,
            "arms": self.arms,
            "legend": self.legend,
            **({"phases": self.phases} if self.phases is not None else {}),
            **({"online_phases": self.online_phases} if self.online_phases else {}),
        }


LEARN_MD = "learn.md"


def learn_markdown(report: Mapping[str, Any], command: str = "") -> str:
    """``learn.md``: each arm's online and offline figures, and under a drift scenario the
    before/after table."""
    lines = [
        f"# streamrec demo --learn: refresh {report['refresh']}, {report['versions_published']} "
        "versions",
        "",
        *([f"`{command}`", ""] if command else []),
        "| arm | model | online Hit@10 | offline Hit@10 | online Hit@20 | offline Hit@20 "
        "| online MRR@20 | offline MRR@20 | predictions |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for arm, a in report["arms"].items():
        cells = [f"{a['role']} ({arm})", Path(a["model"]).name]
        for key in FIGURES:
            cells += [_cell(a["online"][key]), _cell(a["offline"][key])]
        cells.append(f"{a['offline']['n_examples']:,}")
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        f"Online equals offline within {report['tolerance']:g} for both arms: "
        f"{'yes' if report['agreement'] else 'NO'}. Clicks unknown to their version (learning "
        f"arm): {report['unknown_item']:,} of {report['new_item_clicks']:,} clicks on items "
        f"version 0 did not know; served stale: {report['stale']:,}.",
    ]
    table = before_after_table(report)
    if table:
        lines += ["", "## Before and after the drift", "", *table]
    return "\n".join(lines) + "\n"


def arm_names(plan: LearnPlan, shadow: Path, model: Path) -> dict[str, str]:
    """The over-time plot's legend names of the two arms."""
    frozen = "the same model" if shadow == model else shadow.name
    return {
        PRIMARY: f"learning (versions every {refresh_label(plan.refresh_s)})",
        SHADOW: f"frozen ({frozen})",
    }


def learn_report(
    learn_settings: Settings,
    plan: LearnPlan,
    versions: Path,
    frozen_path: Path,
    sent: SentLog,
    online: Mapping[str, Any],
    after: set[str] | None,
    console: Console | None = None,
) -> LearnReport:
    """Both arms offline on the sent clicks, beside their online figures (``online``: the
    Redis totals' report); ``after``: the session ids of the drift's second phase (None
    without a drift). Each run's progress is shown on ``console``."""
    from streamrec.learner.main import build_learner
    from streamrec.model.evaluation.prequential_run import FrozenLearner
    from streamrec.model.zoo import load_model
    from streamrec.model.zoo.updates import Catalog

    schedule = read_schedule(versions)
    newest = latest_valid(versions)
    if schedule is None or newest is None:
        raise ConfigError(f"the learner published no schedule or version in {versions}")
    test = sent.sessions()
    stream = clicks_in_time_order(test, FIRST_SESSION_KEY)
    learner, meta = build_learner(learn_settings, resuming=False)
    model, frozen_meta = load_model(frozen_path)
    frozen_ids = frozen_meta.item_ids
    catalog = np.asarray(
        frozen_ids if frozen_ids is not None else range(frozen_meta.n_items), dtype=np.int64
    )
    frozen = FrozenLearner(model, Catalog(catalog))

    board = ProgressBoard(console or Console(quiet=True), enabled=console is not None)
    if console is not None:
        console.print(
            f"evaluating both arms offline on the {len(stream):,} clicks sent (prequential: "
            "the learning arm under the learner's schedule, the frozen arm never refreshed"
            + (", then each side of the drift" if after is not None else "") + ") ...",
            markup=False, highlight=False,
        )  # fmt: skip

    def score(arm: str, sessions: LogSessions, part: str = "all") -> PrequentialResult:
        learning = arm == PRIMARY
        predictions = Predictions.of(sessions)
        task = board.add(f"{ARM_ROLES[arm]} {part}", len(predictions))
        result = evaluate_stream(
            learner if learning else frozen, stream, predictions,
            schedule.refresh_s if learning else None, "served", meta.max_len,
            on_progress=partial(board.update, task), t0=schedule.t0,
        )  # fmt: skip
        board.done(task)
        return result

    arms: dict[str, dict[str, Any]] = {}
    with board:
        results = {arm: score(arm, test) for arm in ARM_ROLES}
        phases = None
        if after is not None:
            sent_ids = set(test.session_ids)
            parts = {"before": sent_ids - after, "after": sent_ids & after}
            phases = {
                arm: {
                    name: prequential_figures(score(arm, sent.sessions(parts[name]), name))
                    if parts[name]
                    else None
                    for name in PHASE_NAMES
                }
                for arm in ARM_ROLES
            }
    for arm, result in results.items():
        offline = prequential_figures(result)
        live = online["models"].get(arm, {})
        differences = [abs(live.get(k, math.nan) - offline[k]) for k in FIGURES]
        arms[arm] = {
            "role": ARM_ROLES[arm],
            "model": str(frozen_path) if arm == SHADOW else str(learn_settings.model_path),
            "online": {k: live.get(k) for k in (*FIGURES, "n_examples")},
            "offline": offline,
            "max_difference": round(max(differences), 6)
            if not any(math.isnan(d) for d in differences)
            else math.inf,
        }
    return LearnReport(
        plan,
        schedule.t0,
        newest[0].version + 1,
        results[PRIMARY].new_item_clicks,
        arms,
        phases,
    )


def before_after_table(report: Mapping[str, Any]) -> list[str]:
    """The ``learn`` object's before/after table in markdown: per arm, Hit@20 (and MRR@20)
    offline before and after the drift, and the online windows' Hit@10 on each side."""
    phases = report.get("phases")
    if not phases:
        return []
    online = report.get("online_phases") or {}
    lines = [
        "| arm | Hit@20 before | Hit@20 after | MRR@20 before | MRR@20 after "
        "| online Hit@10 before | online Hit@10 after |",
        "|---|---|---|---|---|---|---|",
    ]
    for arm, by_phase in phases.items():
        cells = []
        for key in ("hit_at_20", "mrr_at_20"):
            cells += [_cell((by_phase.get(p) or {}).get(key)) for p in PHASE_NAMES]
        cells += [_cell((online.get(arm, {}).get(p) or {}).get("hit_at_10")) for p in PHASE_NAMES]
        role = report["arms"][arm]["role"]
        lines.append(f"| {role} ({arm}) | " + " | ".join(cells) + " |")
    return lines


def _cell(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"
