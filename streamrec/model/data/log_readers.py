"""The row readers of the click-log formats (``clicklog.read_log`` picks one by name).

Each reader yields one ``Row`` per click: (session key, order key, line number, item id,
unix time or NaN). A malformed row raises ``ValueError`` naming the file and the line.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from streamrec.model.data.clicklog import ClickLogFormat

Order = tuple[tuple[int, float, str], ...]  # numbers before text, each compared as its kind
# (session key, order key, line number, item id, unix time or NaN)
Row = tuple[str, Order, int, int, float]


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


def _session_rec_rows(path: Path, handle: Iterator[str], fmt: ClickLogFormat) -> Iterator[Row]:
    reader = csv.reader(handle, delimiter="\t")
    cols = _header(path, reader, {"s": ("SessionId",), "i": ("ItemId",), "t": ("Time",)})
    for line, row in _rows(path, reader, max(cols.values()) + 1):
        t = _float(path, line, row[cols["t"]], "time")
        yield row[cols["s"]], ((0, t, ""),), line, _int(path, line, row[cols["i"]], "item id"), t


def _yoochoose_rows(path: Path, handle: Iterator[str], fmt: ClickLogFormat) -> Iterator[Row]:
    for line, row in _rows(path, csv.reader(handle, delimiter=","), 3, first_line=1):
        t = _iso(path, line, row[1])
        yield row[0], ((0, t, ""),), line, _int(path, line, row[2], "item id"), t


def _diginetica_rows(path: Path, handle: Iterator[str], fmt: ClickLogFormat) -> Iterator[Row]:
    reader = csv.reader(handle, delimiter=";")
    cols = _header(path, reader, {
        "s": ("sessionId", "session_id"), "i": ("itemId", "item_id"),
        "f": ("timeframe",), "d": ("eventdate",),
    })  # fmt: skip
    for line, row in _rows(path, reader, max(cols.values()) + 1):
        t = _iso(path, line, row[cols["d"]])
        t += _float(path, line, row[cols["f"]], "timeframe") / 1e3
        yield row[cols["s"]], ((0, t, ""),), line, _int(path, line, row[cols["i"]], "item id"), t


def _retailrocket_rows(path: Path, handle: Iterator[str], fmt: ClickLogFormat) -> Iterator[Row]:
    reader = csv.reader(handle, delimiter=",")
    cols = _header(path, reader, {
        "t": ("timestamp",), "v": ("visitorid",), "e": ("event",), "i": ("itemid",),
    })  # fmt: skip
    for line, row in _rows(path, reader, max(cols.values()) + 1):
        if row[cols["e"]] not in fmt.retailrocket_events:
            continue
        t = _float(path, line, row[cols["t"]], "timestamp") / 1e3
        yield row[cols["v"]], ((0, t, ""),), line, _int(path, line, row[cols["i"]], "item id"), t


def _csv_rows(path: Path, handle: Iterator[str], fmt: ClickLogFormat) -> Iterator[Row]:
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


def _globo_rows(path: Path, handle: Iterator[str], fmt: ClickLogFormat) -> Iterator[Row]:
    """Globo.com G1 ``clicks_hour_*.csv``: ``session_id``, ``click_article_id`` and
    ``click_timestamp`` (milliseconds) of a header row naming twelve columns."""
    reader = csv.reader(handle, delimiter=",")
    cols = _header(path, reader, {
        "s": ("session_id",), "i": ("click_article_id",), "t": ("click_timestamp",),
    })  # fmt: skip
    need = max(cols.values()) + 1
    s, i, t = cols["s"], cols["i"], cols["t"]
    for line, row in _rows(path, reader, need):
        stamp = _float(path, line, row[t], "click_timestamp") / 1e3
        yield row[s], ((0, stamp, ""),), line, _int(path, line, row[i], "item id"), stamp


Reader = Callable[[Path, Iterator[str], "ClickLogFormat"], Iterator[Row]]
READERS: dict[str, Reader] = {
    "session-rec": _session_rec_rows,
    "yoochoose": _yoochoose_rows,
    "diginetica": _diginetica_rows,
    "retailrocket": _retailrocket_rows,
    "csv": _csv_rows,
    "globo": _globo_rows,
}
