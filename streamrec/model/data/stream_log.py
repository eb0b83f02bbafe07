"""A click log as a stream: the training part, the test part, and their clicks in event time.

What prequential evaluation reads (``model.evaluation.prequential``). The training part is
the ``--from-csv`` log filtered as training logs are (the format's filters); the test part is
the held-out side of a ``time``/``day`` split of it, or a later log (``--test-csv``), read as
it is. ``new_items`` says what the test part keeps:

- ``keep``: every click, clicks on items the training part never saw included (the day as a
  live stream sees it; data/globo-news calls it ``test_stream``);
- ``drop``: clicks on items the training part never saw are removed, then sessions left with
  fewer than two clicks (the classic offline protocol; data/globo-news's ``test``).

Sessions keep the log's item ids (RAW ids); ``ClickBatch`` keys number the training sessions
first, then the test sessions, in their log order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from streamrec.config import ConfigError, Settings
from streamrec.model.data.clicklog import LogSessions, log_corpus
from streamrec.model.data.loading import TIME_SPLITS, read_filtered_log, split_training_log
from streamrec.model.zoo.updates import Catalog, ClickBatch

NEW_ITEMS = ("keep", "drop")


@dataclass
class StreamLog:
    """The training and test parts of a log (raw item ids), and what the test part keeps."""

    train: LogSessions
    test: LogSessions
    new_items: str

    @property
    def source(self) -> str:
        """Where the parts come from."""
        return f"{self.train.source} -> {self.test.source} (new items: {self.new_items})"

    def train_catalog(self) -> Catalog:
        """The training part's catalog, in the order a checkpoint trained on it has."""
        ids = log_corpus(self.train).item_ids
        return Catalog(np.zeros(0, np.int64) if ids is None else ids)

    def history(self) -> ClickBatch:
        """The training clicks in event-time order (session keys ``0..len(train)-1``)."""
        return clicks_in_time_order(self.train, 0)

    def test_clicks(self) -> ClickBatch:
        """The test clicks in event-time order (keys after the training sessions')."""
        return clicks_in_time_order(self.test, len(self.train))


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


def load_stream_log(settings: Settings, new_items: str) -> StreamLog:
    """The run's log as a stream: the training part and the test part (``new_items``:
    ``keep`` or ``drop``, see the module docstring)."""
    if new_items not in NEW_ITEMS:
        raise ConfigError(f"new items must be one of {', '.join(NEW_ITEMS)}, got {new_items!r}")
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
    return StreamLog(train, test, new_items)


def part_figures(log: LogSessions) -> dict[str, int]:
    """Clicks, sessions, distinct items and next-click predictions of one part."""
    return {
        "clicks": log.n_clicks,
        "sessions": len(log),
        "items": len({i for s in log.items for i in s}),
        "predictions": sum(max(len(s) - 1, 0) for s in log.items),
    }
