"""Real click logs (CSV) as a ``SessionCorpus`` with a dense catalog.

Each session's clicks are sorted by the time columns (compared as numbers where they parse,
e.g. DIGINETICA's ``eventdate`` then ``timeframe``). The log's own item ids are mapped to dense
ids ``0..n-1`` in order of first appearance; the mapping is kept in the corpus and saved in the
checkpoint so the consumer can read events carrying the log's ids.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from streamrec.model.data.corpus import SessionCorpus


@dataclass(frozen=True)
class ClickLogFormat:
    """Where the fields are in the CSV (defaults: the DIGINETICA item-views file)."""

    separator: str = ";"
    session_column: str = "session_id"
    item_column: str = "item_id"
    time_columns: tuple[str, ...] = ("eventdate", "timeframe")


def _sort_key(value: str) -> tuple[int, float, str]:
    try:
        return (0, float(value), "")
    except ValueError:
        return (1, 0.0, value)


def load_click_log(
    path: Path, fmt: ClickLogFormat | None = None, item_ids: list[int] | None = None
) -> SessionCorpus:
    """Read ``path`` into sessions of dense ids.

    ``item_ids``: use this existing catalog (e.g. a checkpoint's) instead of building one;
    clicks on items outside it are dropped.
    """
    fmt = fmt or ClickLogFormat()
    if not path.is_file():
        raise ValueError(f"click log {path} does not exist")
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle, delimiter=fmt.separator)
        header = reader.fieldnames or []
        needed = [fmt.session_column, fmt.item_column, *fmt.time_columns]
        missing = [c for c in needed if c not in header]
        if missing:
            raise ValueError(
                f"{path}: missing column(s) {', '.join(missing)}; header is {', '.join(header)}"
            )
        clicks: dict[str, list[tuple[tuple[tuple[int, float, str], ...], int, int]]] = {}
        for line_no, row in enumerate(reader, start=2):
            try:
                item = int(row[fmt.item_column])
            except (TypeError, ValueError):
                raise ValueError(
                    f"{path}:{line_no}: item id {row[fmt.item_column]!r} is not an integer"
                ) from None
            key = tuple(_sort_key(row[c] or "") for c in fmt.time_columns)
            sid = row[fmt.session_column]
            clicks.setdefault(sid, []).append((key, line_no, item))
    if not clicks:
        raise ValueError(f"{path} has no clicks")

    ordered = {sid: [item for _, _, item in sorted(rows)] for sid, rows in clicks.items()}
    if item_ids is None:
        catalog: dict[int, int] = {}
        for items in ordered.values():
            for item in items:
                catalog.setdefault(item, len(catalog))
        external = list(catalog)
    else:
        catalog = {int(x): i for i, x in enumerate(item_ids)}
        external = list(item_ids)
    session_ids, sessions = [], []
    for sid, items in ordered.items():
        dense = [catalog[i] for i in items if i in catalog]
        if dense:
            session_ids.append(sid)
            sessions.append(dense)
    return SessionCorpus(
        sessions=sessions,
        session_ids=session_ids,
        behaviors=[None] * len(sessions),
        n_items=len(external),
        source=f"clicklog({path.name})",
        item_ids=np.asarray(external, dtype=np.int64),
    )
