"""Real click logs: readers for the formats people have, preprocessing, and the catalog.

Formats (``--format``):

- ``session-rec``: tab-separated ``SessionId ItemId Time`` with a header (unix seconds), the
  prepared files of session-rec and GRU4Rec (e.g. ``yoochoose-clicks-100k_train_tr.txt``);
- ``yoochoose``: RecSys Challenge 2015 ``clicks.dat``: no header, comma-separated
  ``SessionID,Timestamp,ItemID,Category`` with ISO 8601 timestamps;
- ``diginetica``: CIKM Cup 2016 ``train-item-views.csv``: ``;``-separated with a header
  ``sessionId;userId;itemId;timeframe;eventdate`` (or snake_case names); time = the event
  date plus ``timeframe`` milliseconds;
- ``retailrocket``: ``events.csv``: ``timestamp,visitorid,event,itemid,transactionid``
  (milliseconds); a visitor's events are cut into sessions at gaps of more than
  ``session_gap_s`` (30 minutes by default); only ``view`` events by default;
- ``globo``: the Globo.com G1 news log (``clicks_hour_*.csv``, or the shipped
  ``data/globo-news`` file): comma-separated with a header; ``session_id``,
  ``click_article_id`` and ``click_timestamp`` (milliseconds) are read;
- ``csv``: any delimited file with a header, columns named by the format's fields; clicks
  are ordered by the time columns (compared as numbers where they parse).

A file whose name ends in ``.gz`` is read through gzip. Each session's clicks are ordered
by time, clicks at the same time by item id, so the order of a log's rows never changes what
is read. Item ids are integers.
A malformed row raises ``ValueError`` naming the file and the line.
"""

from __future__ import annotations

import gzip
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from streamrec.config import LOG_FORMATS
from streamrec.model.data.corpus import SessionCorpus
from streamrec.model.data.log_readers import READERS, Row

SECONDS_PER_DAY = 86_400.0
DEFAULT_SESSION_GAP_S = 1800.0
# raw public logs get the literature's filters (GRU4Rec, session-rec); prepared files and
# the user's own CSV are taken as they are
FORMAT_FILTERS: dict[str, tuple[int, int]] = {  # format -> (min session length, min support)
    "session-rec": (1, 1),
    "csv": (1, 1),
    "yoochoose": (2, 5),
    "diginetica": (2, 5),
    "retailrocket": (2, 5),
    "globo": (2, 5),
}


@dataclass(frozen=True)
class ClickLogFormat:
    """How to read a log: the format name, and for ``csv`` where the fields are."""

    name: str = "csv"
    separator: str = ";"
    session_column: str = "session_id"
    item_column: str = "item_id"
    time_columns: tuple[str, ...] = ("eventdate", "timeframe")
    retailrocket_events: tuple[str, ...] = ("view",)
    session_gap_s: float = DEFAULT_SESSION_GAP_S

    def __post_init__(self) -> None:
        if self.name not in LOG_FORMATS:
            raise ValueError(f"unknown log format {self.name!r}; choose {', '.join(LOG_FORMATS)}")


@dataclass
class LogSessions:
    """Sessions of a log in the log's own item ids, each ordered by time."""

    session_ids: list[str]
    items: list[list[int]]
    start_times: list[float]  # first click's unix time (NaN when the log has no usable time)
    source: str
    times: list[list[float]]  # every click's unix time, aligned with ``items`` (NaN: none)

    def __len__(self) -> int:
        return len(self.items)

    @property
    def n_clicks(self) -> int:
        """Clicks over all sessions."""
        return sum(len(s) for s in self.items)

    def subset(self, keep: list[int]) -> LogSessions:
        """The sessions at ``keep``, in that order."""
        return LogSessions(
            [self.session_ids[i] for i in keep],
            [self.items[i] for i in keep],
            [self.start_times[i] for i in keep],
            self.source,
            [self.times[i] for i in keep],
        )


def read_log(path: Path, fmt: ClickLogFormat | None = None) -> LogSessions:
    """Read ``path`` into time-ordered sessions; ``ValueError`` names a bad file or line."""
    fmt = fmt or ClickLogFormat()
    if not path.is_file():
        raise ValueError(f"click log {path} does not exist")
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", newline="", encoding="utf-8") as handle:
        rows = list(READERS[fmt.name](path, handle, fmt))
    if not rows:
        raise ValueError(f"{path} has no clicks")
    by_session: dict[str, list[Row]] = {}
    for row in rows:
        by_session.setdefault(row[0], []).append(row)
    if fmt.name == "retailrocket":
        by_session = _cut_by_gap(by_session, fmt.session_gap_s)
    ids, items, times = [], [], []
    for sid, clicks in by_session.items():
        clicks.sort(key=lambda r: (r[1], r[3]))  # ties in time by item: row order never matters
        ids.append(sid)
        items.append([r[3] for r in clicks])
        times.append([r[4] for r in clicks])
    starts = [t[0] for t in times]
    return LogSessions(ids, items, starts, f"{fmt.name}:{path.name}", times)


def join_logs(logs: list[LogSessions]) -> LogSessions:
    """Several files of one log (e.g. consecutive periods) as one log, sessions in file
    order; ``ValueError`` when a session id appears in two of them (a session split across
    files would be read as two sessions)."""
    if len(logs) == 1:
        return logs[0]
    seen: dict[str, str] = {}
    for log in logs:
        for sid in log.session_ids:
            if sid in seen:
                raise ValueError(
                    f"session {sid!r} appears in both {seen[sid]} and {log.source}: "
                    "give each session's clicks in one file"
                )
            seen[sid] = log.source
    return LogSessions(
        [sid for log in logs for sid in log.session_ids],
        [items for log in logs for items in log.items],
        [start for log in logs for start in log.start_times],
        "+".join(log.source for log in logs),
        [times for log in logs for times in log.times],
    )


def log_corpus(log: LogSessions, item_ids: list[int] | None = None) -> SessionCorpus:
    """The log as a ``SessionCorpus`` of dense ids.

    Without ``item_ids`` the catalog is built from the log (dense ids in order of first
    appearance, sessions in file order). With ``item_ids`` (a checkpoint's catalog) the log is
    mapped through it: clicks on items outside it are removed (counted in
    ``dropped_unknown_clicks``) and sessions left empty are dropped.
    """
    if item_ids is None:
        catalog: dict[int, int] = {}
        for items in log.items:
            for item in items:
                catalog.setdefault(item, len(catalog))
        external = list(catalog)
    else:
        catalog = {int(x): i for i, x in enumerate(item_ids)}
        external = [int(x) for x in item_ids]
    ids, sessions, starts, times, dropped = [], [], [], [], 0
    for sid, items, start, stamps in zip(
        log.session_ids, log.items, log.start_times, log.times, strict=True
    ):
        known = [k for k, item in enumerate(items) if item in catalog]
        dropped += len(items) - len(known)
        if known:
            ids.append(sid)
            sessions.append([catalog[items[k]] for k in known])
            starts.append(start)
            times.append([stamps[k] for k in known])
    return SessionCorpus(
        sessions=sessions,
        session_ids=ids,
        behaviors=[None] * len(sessions),
        n_items=len(external),
        source=log.source,
        item_ids=np.asarray(external, dtype=np.int64),
        start_times=np.asarray(starts, dtype=np.float64),
        click_times=times,
        dropped_unknown_clicks=dropped,
    )


def filter_log(log: LogSessions, min_session_length: int, min_item_support: int) -> LogSessions:
    """The literature's filters: drop short sessions, then clicks on items seen fewer than
    ``min_item_support`` times, then sessions that became too short. A session starts at
    its first click left."""
    keep = [i for i, s in enumerate(log.items) if len(s) >= min_session_length]
    log = log.subset(keep)
    if min_item_support > 1:
        support: dict[int, int] = {}
        for session in log.items:
            for item in session:
                support[item] = support.get(item, 0) + 1
        kept = [[k for k, i in enumerate(s) if support[i] >= min_item_support] for s in log.items]
        log.items = [[s[k] for k in ks] for s, ks in zip(log.items, kept, strict=True)]
        log.times = [[t[k] for k in ks] for t, ks in zip(log.times, kept, strict=True)]
        log.start_times = [t[0] if t else math.nan for t in log.times]
        log = log.subset([i for i, s in enumerate(log.items) if len(s) >= min_session_length])
    return log.subset([i for i, s in enumerate(log.items) if s])


def time_split(log: LogSessions, test_days: float) -> tuple[list[int], list[int]]:
    """(train, test) session indices: sessions that start in the last ``test_days`` days of
    the log go to test."""
    if any(math.isnan(t) for t in log.start_times):
        raise ValueError(f"{log.source}: a time split needs a parseable time on every click")
    end = max(log.start_times)
    cut = end - test_days * SECONDS_PER_DAY
    train = [i for i, t in enumerate(log.start_times) if t < cut]
    test = [i for i, t in enumerate(log.start_times) if t >= cut]
    if not train or not test:
        raise ValueError(
            f"{log.source}: --test-days {test_days:g} leaves {len(train)} training and "
            f"{len(test)} test sessions; choose a value inside the log's time span"
        )
    return train, test


def split_log(
    log: LogSessions, split: str, test_days: float, last_start: float
) -> tuple[list[int], list[int]]:
    """(train, test) session indices of a log's ``time`` or ``day`` split (``last_start``:
    the latest session start of the log as read, before filtering; ``day`` only)."""
    if split == "day":
        return day_split(log, test_days, last_start)
    return time_split(log, test_days)


def day_split(log: LogSessions, test_days: float, last_start: float) -> tuple[list[int], list[int]]:
    """(train, test) session indices split on UTC calendar days (data/globo-news's protocol).

    The test days are the last ``test_days`` (a whole number) UTC days on which the log's
    sessions start as read (``last_start``: the latest first click before filtering). A session
    goes by the first click it has left after filtering: on or after the first test day to
    test, before it to train; each is kept whole."""
    if any(math.isnan(t) for t in log.start_times) or math.isnan(last_start):
        raise ValueError(f"{log.source}: a day split needs a parseable time on every click")
    if test_days < 1 or not float(test_days).is_integer():
        raise ValueError(f"--split day needs a whole number of --test-days, got {test_days:g}")
    days = np.floor(np.asarray(log.start_times) / SECONDS_PER_DAY)
    cut = math.floor(last_start / SECONDS_PER_DAY) - test_days + 1
    train = [int(i) for i in np.flatnonzero(days < cut)]
    test = [int(i) for i in np.flatnonzero(days >= cut)]
    if not train:
        raise ValueError(
            f"{log.source}: --test-days {test_days:g} leaves no training session; the log "
            f"spans {int(days.max() - days.min()) + 1} UTC days"
        )
    return train, test


def _cut_by_gap(by_visitor: dict[str, list[Row]], gap_s: float) -> dict[str, list[Row]]:
    sessions: dict[str, list[Row]] = {}
    for visitor, rows in by_visitor.items():
        rows.sort(key=lambda r: (r[4], r[3]))
        part, last = 0, rows[0][4]
        for row in rows:
            if row[4] - last > gap_s:
                part += 1
            last = row[4]
            sessions.setdefault(f"{visitor}-{part}", []).append(row)
    return sessions
