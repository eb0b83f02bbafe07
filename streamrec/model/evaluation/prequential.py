"""Prequential evaluation: a model that learns from the stream, scored as the stream goes.

The protocol (issue 20; data/globo-news's README uses it for its yardsticks):

- The test clicks are taken in event-time order; ``t0`` is the first one's time. With a
  refresh period ``R`` the boundaries are ``t0 + kR``, k = 1, 2, ...
- The learner starts from the training part (version 0: what a frozen model serves). At
  boundary k it learns every test click with a time before the boundary (sessions still open
  included) and publishes version k. ``never``: version 0 serves the whole test part.
- Every position of a test session predicts its next click. The prediction is served by the
  version of the last boundary at or before its time: with ``version_time="target"`` the
  time of the click it predicts (data/globo-news's yardstick), with ``"served"`` the time of
  the last click of the prefix, when a live consumer serves the recommendation.
- The window is the prefix's last ``max_len`` clicks mapped through the serving version's
  catalog; a click on an item it does not know stays in its place as model id 0 (dense id
  -1, like padding), so each model decides what an unknown click means: ``markov`` reads
  the last click and backs off to popularity when it is unknown (the yardstick's rule),
  ``vsknn`` reads the known clicks. A target the serving version does not know is a miss,
  counted in ``unknown_targets``. Everything else is full
  ranking with ties against the target (``evaluation.ranking``, the one implementation).

Figures per (model, refresh): Hit@10, Hit@20, MRR@20 over every prediction; ``versions``:
the versions that served a prediction (version 0 included); the update seconds of every
version built (versions 1.., mean and max). Every boundary after which clicks were learned
builds a version, as the online learner does, even when no prediction falls before the next
one: a fine-tune's weights depend on how the stream was cut into updates (a boundary with no
new click builds nothing, and a fine-tune that learned nothing does not train either);
``unknown_targets``; ``new_item_clicks`` (test clicks on items version 0 does not
know); and Hit@20 per hour of the test day (UTC hour of the predicted click, in the day of
the first prediction).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from streamrec.model.data.clicklog import LogSessions
from streamrec.model.data.parameters import VERSION_TIMES
from streamrec.model.evaluation.ranking import MISS_RANK, RankingTotals, ranks_from_scores
from streamrec.model.scoring import NO_SOURCE, WindowBatch
from streamrec.model.versions import boundary, versions_at
from streamrec.model.zoo.updates import ClickBatch, StreamLearner, UpdateReport, refresh_label

HOURS = 24
SECONDS_PER_HOUR = 3600.0
BATCH = 1024


@dataclass
class Predictions:
    """Every next-click prediction of a test part: session ``s`` (test session index) at
    target position ``p`` (>= 1). ``clicks``: the part's clicks flattened session by session,
    ``starts[s]`` where session ``s`` begins in it."""

    session: np.ndarray
    position: np.ndarray
    target: np.ndarray  # raw item ids
    target_time: np.ndarray
    served_time: np.ndarray
    clicks: np.ndarray  # raw item ids, session by session
    starts: np.ndarray

    def __len__(self) -> int:
        return len(self.target)

    @classmethod
    def of(cls, test: LogSessions) -> Predictions:
        """The predictions of every session of ``test`` (positions 1..len-1)."""
        lengths = np.fromiter((len(s) for s in test.items), np.int64, len(test.items))
        starts = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        clicks = np.fromiter((i for s in test.items for i in s), np.int64, int(starts[-1]))
        times = np.fromiter((t for s in test.times for t in s), np.float64, int(starts[-1]))
        session = np.repeat(np.arange(len(lengths), dtype=np.int64), np.maximum(lengths - 1, 0))
        position = np.concatenate(
            [np.arange(1, n, dtype=np.int64) for n in lengths] or [np.zeros(0, np.int64)]
        )
        flat = starts[session] + position
        return cls(session, position, clicks[flat], times[flat], times[flat - 1], clicks, starts)

    def version_times(self, version_time: str) -> np.ndarray:
        """The time that picks each prediction's version."""
        if version_time not in VERSION_TIMES:
            raise ValueError(f"version_time must be one of {', '.join(VERSION_TIMES)}")
        return self.target_time if version_time == "target" else self.served_time


@dataclass
class PrequentialResult:
    """The figures of one (model, refresh) run; ``hourly_*``: per UTC hour of the test day."""

    model: str
    refresh: str
    version_time: str
    versions: int
    update_seconds_mean: float | None
    update_seconds_max: float | None
    clicks_learned: int
    catalog_size: int
    unknown_targets: int
    new_item_clicks: int
    hit_at_10: float
    hit_at_20: float
    mrr_at_20: float
    predictions: int
    updates_cut_short: int = 0  # fine-tunes the time budget stopped before their step cap
    hourly_predictions: list[int] = field(default_factory=list)
    hourly_hit_at_20: list[float | None] = field(default_factory=list)


class _KnownItems:
    """Dense id of every raw item of the test part under the latest version (-1: unknown);
    the catalog only grows, so an id once known stays."""

    def __init__(self, predictions: Predictions) -> None:
        self.raw, inverse = np.unique(predictions.clicks, return_inverse=True)
        self.compact_clicks = inverse.astype(np.int64)
        self.dense = np.full(len(self.raw), -1, np.int64)
        self.size = 0

    def update(self, catalog_ids: np.ndarray) -> None:
        """Take the items a newer catalog added."""
        new = catalog_ids[self.size :]
        if len(new):
            where = np.searchsorted(self.raw, new)
            inside = where < len(self.raw)
            found = inside.copy()
            found[inside] = self.raw[where[inside]] == new[inside]
            self.dense[where[found]] = self.size + np.flatnonzero(found)
        self.size = len(catalog_ids)


def evaluate_stream(
    learner: StreamLearner,
    stream: ClickBatch,
    predictions: Predictions,
    refresh_s: float | None,
    version_time: str = "target",
    max_len: int = 25,
    budget_s: float | None = None,
    on_progress: Callable[[int], None] | None = None,
    t0: float | None = None,
) -> PrequentialResult:
    """Run ``learner`` (it has learned the training part; it is copied, not changed) over the
    test ``stream`` and score ``predictions`` (see the module docstring). ``t0``: the first
    boundary's origin when it is known (an online learner's schedule); default: the stream's
    first click's time. Versions and boundaries are ``model.versions``' own functions, the
    ones the online learner and the consumers use."""
    learner = copy.deepcopy(learner)
    initial_catalog = learner.catalog
    model, _ = learner.publish(budget_s)
    known = _KnownItems(predictions)
    known.update(learner.catalog.item_ids)
    if t0 is None:
        t0 = float(stream.times[0]) if len(stream) else float(predictions.target_time.min())
    when = predictions.version_times(version_time)
    if (when < t0).any():
        raise ValueError("a prediction's time is before the first test click")
    version = (
        np.zeros(len(predictions), np.int64)
        if refresh_s is None
        else versions_at(when, t0, refresh_s)
    )
    order = np.argsort(version, kind="stable")
    ranks = np.full(len(predictions), MISS_RANK, np.int64)
    reports: list[UpdateReport] = []
    learned, done, unknown, built, served, fresh = 0, 0, 0, 0, 1, False
    period = refresh_s or 0.0
    for k, group in _groups(version[order], order):
        # every boundary up to k with new clicks publishes, as the online learner does: a
        # fine-tune's weights depend on how the clicks were cut into updates
        for index in range(built + 1, k + 1) if period else ():
            upto = stream.before(boundary(t0, period, index))
            if upto > learned:
                learner.learn(stream.slice(learned, upto))
                learned = upto
                model, report = learner.publish(budget_s)
                reports.append(report)
                fresh = True
        built = max(built, k)
        if fresh:
            known.update(learner.catalog.item_ids)
            served, fresh = served + 1, False
        ranks[group], missing = _ranks(model, known, predictions, group, max_len)
        unknown += missing
        done += len(group)
        if on_progress is not None:
            on_progress(done)
    result = _result(learner, initial_catalog, reports, predictions, ranks, refresh_s)
    result.version_time, result.unknown_targets, result.versions = version_time, unknown, served
    return result


def _groups(sorted_versions: np.ndarray, order: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """(version, prediction indices) for each version some prediction uses, ascending."""
    cuts = np.flatnonzero(np.diff(sorted_versions)) + 1
    return [
        (int(sorted_versions[part[0]]), order[part])
        for part in np.split(np.arange(len(order)), cuts)
        if len(part)
    ]


def _ranks(
    model: Any, known: _KnownItems, predictions: Predictions, group: np.ndarray, max_len: int
) -> tuple[np.ndarray, int]:
    """Ranks of the predictions at ``group`` under ``model`` (``MISS_RANK`` for a target the
    model does not know), and how many targets it does not know."""
    out = np.full(len(group), MISS_RANK, np.int64)
    starts = predictions.starts[predictions.session[group]]
    targets = known.dense[known.compact_clicks[starts + predictions.position[group]]]
    scorable = np.flatnonzero(targets >= 0)
    scorer = model.scorer()
    windows, lengths = _windows(known, predictions, group, max_len)
    for lo in range(0, len(scorable), BATCH):
        rows = scorable[lo : lo + BATCH]
        unknown = np.full(len(rows), NO_SOURCE, np.int64)
        batch = WindowBatch(windows[rows], lengths[rows], unknown, unknown.copy())
        scores = scorer.score(batch)
        target = torch.from_numpy(targets[rows]).to(scores.device)
        out[rows] = ranks_from_scores(scores, target).cpu().numpy()
    return out, len(group) - len(scorable)


def _windows(
    known: _KnownItems, predictions: Predictions, group: np.ndarray, max_len: int
) -> tuple[np.ndarray, np.ndarray]:
    """Left-padded model-id windows (the prefix's last ``max_len`` clicks; an unknown click
    is 0 in its place) and their lengths, for the predictions at ``group``."""
    starts = predictions.starts[predictions.session[group]]
    ends = starts + predictions.position[group]
    where = ends[:, None] + np.arange(-max_len, 0)[None, :]
    inside = where >= starts[:, None]
    dense = known.dense[known.compact_clicks[np.where(inside, where, 0)]]
    windows = np.where(inside, dense + 1, 0).astype(np.int64)
    return windows, np.minimum(predictions.position[group], max_len).astype(np.int64)


def _result(
    learner: StreamLearner,
    initial_catalog: Any,
    reports: list[UpdateReport],
    predictions: Predictions,
    ranks: np.ndarray,
    refresh_s: float | None,
) -> PrequentialResult:
    figures = RankingTotals.from_ranks(ranks).metrics()
    new_clicks = ~np.isin(predictions.clicks, initial_catalog.item_ids)
    seconds = [r.seconds for r in reports]
    day_start = math.floor(float(predictions.target_time.min()) / 86400.0) * 86400.0
    hour = np.floor((predictions.target_time - day_start) / SECONDS_PER_HOUR).astype(np.int64)
    hourly_n, hourly_hit = [], []
    for h in range(HOURS):
        in_hour = hour == h
        hourly_n.append(int(in_hour.sum()))
        hourly_hit.append(float((ranks[in_hour] <= 20).mean()) if in_hour.any() else None)
    return PrequentialResult(
        model=learner.architecture,
        refresh=refresh_label(refresh_s),
        version_time="",
        versions=1 + len(reports),
        update_seconds_mean=float(np.mean(seconds)) if seconds else None,
        update_seconds_max=float(np.max(seconds)) if seconds else None,
        clicks_learned=int(sum(r.clicks_learned for r in reports)),
        catalog_size=len(learner.catalog),
        unknown_targets=0,
        new_item_clicks=int(new_clicks.sum()),
        hit_at_10=figures["hit_at_10"],
        hit_at_20=figures["hit_at_20"],
        mrr_at_20=figures["mrr_at_20"],
        predictions=len(predictions),
        updates_cut_short=sum(r.cut_short for r in reports),
        hourly_predictions=hourly_n,
        hourly_hit_at_20=hourly_hit,
    )
