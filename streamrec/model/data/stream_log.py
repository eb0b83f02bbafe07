"""A click log as a stream: the training part, the test part, and their clicks in event time.

What prequential evaluation reads (``model.evaluation.prequential``). The training part is
the ``--from-csv`` log filtered as training logs are (the format's filters); the test part is
the held-out side of a ``time``/``day`` split of it, or a later log (``--test-csv``), read as
it is. ``new_items`` says what the test part keeps:

- ``keep``: every click, clicks on items the training part never saw included (the day as a
  live stream sees it; data/globo-news calls it ``test_stream``);
- ``drop``: clicks on items the training part never saw are removed, then sessions left with
  fewer than two clicks (the classic offline protocol; data/globo-news's ``test``).

Version 0 learns the training clicks before the first test click (``strict``) or the whole
training log (``whole``: data/globo-news's yardsticks; a training session that runs on into
the test days then gives version 0 clicks from its future). Sessions keep the log's item ids
(RAW ids); ``ClickBatch`` keys number the training sessions first, then the test sessions,
in their log order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from streamrec.config import ConfigError, Settings
from streamrec.model.data.clicklog import LogSessions, log_corpus
from streamrec.model.data.loading import TIME_SPLITS, read_filtered_log, split_training_log
from streamrec.model.data.parameters import HISTORIES, NEW_ITEMS
from streamrec.model.zoo.updates import Catalog, ClickBatch

# HISTORIES, what version 0 learns: "strict" the training clicks before the first test click
# t0 (the training sessions' later clicks are streamed like test clicks: no version knows a
# click from its future); "whole" the whole training log, as data/globo-news's yardsticks do


@dataclass
class StreamLog:
    """The training and test parts of a log (raw item ids), what the test part keeps, and
    what version 0 learns (``history``, see ``HISTORIES``)."""

    train: LogSessions
    test: LogSessions
    new_items: str
    history_mode: str = "strict"

    @property
    def source(self) -> str:
        """Where the parts come from."""
        return (
            f"{self.train.source} -> {self.test.source} (new items: {self.new_items}, "
            f"history: {self.history_mode})"
        )

    def t0(self) -> float:
        """The time of the first test click: where the stream starts."""
        return min(t for times in self.test.times for t in times)

    def initial_log(self) -> LogSessions:
        """What version 0 is trained on: the training part (``whole``), or its clicks before
        ``t0`` (``strict``: sessions cut there, those left empty dropped)."""
        if self.history_mode == "whole":
            return self.train
        return _before(self.train, self.t0())

    def catalog(self) -> Catalog:
        """Version 0's catalog, in the order a checkpoint trained on ``initial_log`` has."""
        ids = log_corpus(self.initial_log()).item_ids
        return Catalog(np.zeros(0, np.int64) if ids is None else ids)

    def history(self) -> ClickBatch:
        """The clicks version 0 learns, in event-time order (training session ``i`` has key
        ``i``)."""
        clicks = clicks_in_time_order(self.train, 0)
        if self.history_mode == "whole":
            return clicks
        return clicks.slice(0, clicks.before(self.t0()))

    def stream(self) -> ClickBatch:
        """The clicks the versions after 0 learn, in event-time order: the test clicks (keys
        after the training sessions') and, ``strict``, the training sessions' clicks from
        ``t0`` on (a session that started before the test days may run on into them: it is
        learned as it goes, never scored)."""
        test = clicks_in_time_order(self.test, len(self.train))
        if self.history_mode == "whole":
            return test
        train = clicks_in_time_order(self.train, 0)
        late = train.slice(train.before(self.t0()), len(train))
        times = np.concatenate([late.times, test.times])
        order = np.argsort(times, kind="stable")
        return ClickBatch(
            np.concatenate([late.session_ids, test.session_ids])[order],
            np.concatenate([late.items, test.items])[order],
            times[order],
        )


def _before(log: LogSessions, t0: float) -> LogSessions:
    """``log``'s clicks before ``t0``; sessions left empty are dropped."""
    cut = [sum(1 for t in times if t < t0) for times in log.times]
    keep = [k for k, n in enumerate(cut) if n]
    return LogSessions(
        [log.session_ids[k] for k in keep],
        [log.items[k][: cut[k]] for k in keep],
        [log.start_times[k] for k in keep],
        log.source,
        [log.times[k][: cut[k]] for k in keep],
    )


def clicks_in_time_order(log: LogSessions, first_key: int) -> ClickBatch:
    """Every click of ``log`` sorted by time; ties keep log order (session, then position).
    Session ``i`` gets key ``first_key + i``."""
    lengths = np.fromiter((len(s) for s in log.items), np.int64, len(log.items))
    sessions = np.repeat(np.arange(len(log.items), dtype=np.int64) + first_key, lengths)
    items = np.fromiter((i for s in log.items for i in s), np.int64, int(lengths.sum()))
    times = np.fromiter((t for s in log.times for t in s), np.float64, int(lengths.sum()))
    if np.isnan(times).any():
        raise ConfigError(f"{log.source}: learning from a stream needs a time on every click")
    order = np.argsort(times, kind="stable")
    return ClickBatch(sessions[order], items[order], times[order])


def known_part(test: LogSessions, known: set[int]) -> LogSessions:
    """``test`` without clicks on items outside ``known``, then without sessions left with
    fewer than two clicks."""
    items = [[i for i in s if i in known] for s in test.items]
    times = [
        [t for i, t in zip(s, ts, strict=True) if i in known]
        for s, ts in zip(test.items, test.times, strict=True)
    ]
    keep = [k for k, s in enumerate(items) if len(s) >= 2]
    return LogSessions(
        [test.session_ids[k] for k in keep],
        [items[k] for k in keep],
        [times[k][0] for k in keep],
        test.source + " (known items)",
        [times[k] for k in keep],
    )


def load_stream_log(settings: Settings, new_items: str, history: str = "strict") -> StreamLog:
    """The run's log as a stream: the training part and the test part (``new_items``:
    ``keep`` or ``drop``, see the module docstring; ``history``: ``HISTORIES``)."""
    if new_items not in NEW_ITEMS:
        raise ConfigError(f"new items must be one of {', '.join(NEW_ITEMS)}, got {new_items!r}")
    if history not in HISTORIES:
        raise ConfigError(f"history must be one of {', '.join(HISTORIES)}, got {history!r}")
    if not settings.csv_path:
        raise ConfigError("learning from a stream needs a click log with times (--from-csv)")
    if settings.split in TIME_SPLITS:
        log, train_idx, test_idx = split_training_log(settings)
        train, test = log.subset(train_idx), log.subset(test_idx)
    elif settings.split == "none" and settings.validation_csv:
        train = read_filtered_log(settings, settings.csv_path)
        test = read_filtered_log(settings, settings.validation_csv, filtered=False)
    else:
        raise ConfigError(
            "learning from a stream needs a test part: --split time or day, or a later log "
            "(--test-csv)"
        )
    if new_items == "drop":
        test = known_part(test, {i for s in train.items for i in s})
    if not len(test):
        raise ConfigError(f"{test.source}: the test part holds no session to score")
    return StreamLog(train, test, new_items, history)


def part_figures(log: LogSessions) -> dict[str, int]:
    """Clicks, sessions, distinct items and next-click predictions of one part."""
    return {
        "clicks": log.n_clicks,
        "sessions": len(log),
        "items": len({i for s in log.items for i in s}),
        "predictions": sum(max(len(s) - 1, 0) for s in log.items),
    }
