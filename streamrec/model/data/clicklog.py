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
- ``csv``: any delimited file with a header, columns named by the format's fields; clicks
  are ordered by the time columns (compared as numbers where they parse).

Each session's clicks are ordered by time, clicks at the same time by item id, so the order
of a log's rows never changes what is read. Item ids are integers.
A malformed row raises ``ValueError`` naming the file and the line.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from streamrec.config import LOG_FORMATS
from streamrec.model.data.corpus import SessionCorpus

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


_Order = tuple[tuple[int, float, str], ...]  # numbers before text, each compared as its kind
# (session key, order key, line number, item id, unix time or NaN)
_Row = tuple[str, _Order, int, int, float]


def read_log(path: Path, fmt: ClickLogFormat | None = None) -> LogSessions:
    """Read ``path`` into time-ordered sessions; ``ValueError`` names a bad file or line."""
    fmt = fmt or ClickLogFormat()
    if not path.is_file():
        raise ValueError(f"click log {path} does not exist")
    readers = {
        "session-rec": _session_rec_rows,
        "yoochoose": _yoochoose_rows,
        "diginetica": _diginetica_rows,
        "retailrocket": _retailrocket_rows,
        "csv": _csv_rows,
    }
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(readers[fmt.name](path, handle, fmt))
    if not rows:
        raise ValueError(f"{path} has no clicks")
    by_session: dict[str, list[_Row]] = {}
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
    ``min_item_support`` times, then sessions that became too short."""
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


def _cut_by_gap(by_visitor: dict[str, list[_Row]], gap_s: float) -> dict[str, list[_Row]]:
    sessions: dict[str, list[_Row]] = {}
    for visitor, rows in by_visitor.items():
        rows.sort(key=lambda r: (r[4], r[3]))
        part, last = 0, rows[0][4]
        for row in rows:
            if row[4] - last > gap_s:
                part += 1
            last = row[4]
            sessions.setdefault(f"{visitor}-{part}", []).append(row)
    return sessions


def _int(path: Path, line: int, value: str | None, what: str) -> int:
    try:
        return int(value or "")
    except ValueError:
        raise ValueError(f"{path}:{line}: {what} {value!r} is not an integer") from None


def _float(path: Path, line: int, value: str | None, what: str) -> float:
    try:
        parsed = float(value or "")
    except ValueError:
        raise ValueError(f"{path}:{line}: {what} {value!r} is not a number") from None
    if not math.isfinite(parsed):
        raise ValueError(f"{path}:{line}: {what} {value!r} is not a finite number")
    return parsed


def _iso(path: Path, line: int, value: str) -> float:
    try:
        stamp = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{path}:{line}: timestamp {value!r} is not ISO 8601") from None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    return stamp.timestamp()


def _header(
    path: Path, reader: Iterator[list[str]], wanted: dict[str, tuple[str, ...]]
) -> dict[str, int]:
    """Column index of each wanted field (any of its accepted names) in the header row."""
    header = next(reader, None)
    if header is None:
        raise ValueError(f"{path} is empty")
    found: dict[str, int] = {}
    for field_name, names in wanted.items():
        index = next((header.index(n) for n in names if n in header), None)
        if index is None:
            raise ValueError(
                f"{path}:1: missing column {' or '.join(names)}; header is {', '.join(header)}"
            )
        found[field_name] = index
    return found


def _rows(
    path: Path, reader: Iterator[list[str]], need: int, first_line: int = 2
) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) of every non-empty row, each with at least ``need`` fields."""
    for line, row in enumerate(reader, start=first_line):
        if not row:
            continue
        if len(row) < need:
            raise ValueError(f"{path}:{line}: expected {need} fields, got {len(row)}")
        yield line, row


def _session_rec_rows(path: Path, handle: Iterator[str], fmt: ClickLogFormat) -> Iterator[_Row]:
    reader = csv.reader(handle, delimiter="\t")
    cols = _header(path, reader, {"s": ("SessionId",), "i": ("ItemId",), "t": ("Time",)})
    for line, row in _rows(path, reader, max(cols.values()) + 1):
        t = _float(path, line, row[cols["t"]], "time")
        yield row[cols["s"]], ((0, t, ""),), line, _int(path, line, row[cols["i"]], "item id"), t


def _yoochoose_rows(path: Path, handle: Iterator[str], fmt: ClickLogFormat) -> Iterator[_Row]:
    for line, row in _rows(path, csv.reader(handle, delimiter=","), 3, first_line=1):
        t = _iso(path, line, row[1])
        yield row[0], ((0, t, ""),), line, _int(path, line, row[2], "item id"), t


def _diginetica_rows(path: Path, handle: Iterator[str], fmt: ClickLogFormat) -> Iterator[_Row]:
    reader = csv.reader(handle, delimiter=";")
    cols = _header(path, reader, {
        "s": ("sessionId", "session_id"), "i": ("itemId", "item_id"),
        "f": ("timeframe",), "d": ("eventdate",),
    })  # fmt: skip
    for line, row in _rows(path, reader, max(cols.values()) + 1):
        t = _iso(path, line, row[cols["d"]])
        t += _float(path, line, row[cols["f"]], "timeframe") / 1e3
        yield row[cols["s"]], ((0, t, ""),), line, _int(path, line, row[cols["i"]], "item id"), t


def _retailrocket_rows(path: Path, handle: Iterator[str], fmt: ClickLogFormat) -> Iterator[_Row]:
    reader = csv.reader(handle, delimiter=",")
    cols = _header(path, reader, {
        "t": ("timestamp",), "v": ("visitorid",), "e": ("event",), "i": ("itemid",),
    })  # fmt: skip
    for line, row in _rows(path, reader, max(cols.values()) + 1):
        if row[cols["e"]] not in fmt.retailrocket_events:
            continue
        t = _float(path, line, row[cols["t"]], "timestamp") / 1e3
        yield row[cols["v"]], ((0, t, ""),), line, _int(path, line, row[cols["i"]], "item id"), t


def _csv_rows(path: Path, handle: Iterator[str], fmt: ClickLogFormat) -> Iterator[_Row]:
    reader = csv.reader(handle, delimiter=fmt.separator)
    wanted: dict[str, tuple[str, ...]] = {"s": (fmt.session_column,), "i": (fmt.item_column,)}
    wanted.update({f"t{k}": (c,) for k, c in enumerate(fmt.time_columns)})
    cols = _header(path, reader, wanted)
    time_cols = [cols[f"t{k}"] for k in range(len(fmt.time_columns))]
    for line, row in _rows(path, reader, max(cols.values()) + 1):
        order = tuple(_order_value(row[c]) for c in time_cols)
        t = _unix_time(row[time_cols[0]]) if time_cols else math.nan
        yield row[cols["s"]], order, line, _int(path, line, row[cols["i"]], "item id"), t


def _order_value(value: str) -> tuple[int, float, str]:
    """Numbers compare as numbers, anything else (e.g. ISO dates) as text after them."""
    try:
        return (0, float(value), "")
    except ValueError:
        return (1, 0.0, value)


def _unix_time(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        pass
    try:
        stamp = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return math.nan
    return (stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)).timestamp()
