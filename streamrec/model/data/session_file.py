"""The sessions file: generated sessions as JSON Lines, written and read one line at a time.

One object per line, ``{"session_id": str, "items": [int, ...], "behavior": str | null}``
(``streamrec generate`` writes it, ``streamrec produce --sessions-file`` replays it). Both
sides stream: writing draws one user at a time (``SessionStream``) and reading parses one
line at a time, so neither holds the sessions; a file of 10 million users costs disk, not
memory.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TextIO

from streamrec.model.data.corpus import generated_names
from streamrec.model.data.generator import GeneratorParams, SessionStream

# (session id, items, behaviour label or None): one replayable session
SessionRecord = tuple[str, list[int], str | None]
ProgressHook = Callable[[int, int], None]  # (users drawn so far, sessions written so far)
PROGRESS_EVERY = 10_000  # users between progress calls


def write_generated(
    params: GeneratorParams, out: TextIO, progress: ProgressHook | None = None
) -> int:
    """Write the generator's sessions to ``out`` as they are drawn; returns how many.

    The lines are byte for byte what ``generated_corpus`` names and holds (same ids, same
    order), without holding them.
    """
    prefix, _ = generated_names(params)
    stream = SessionStream(params)
    written = 0
    dumps = json.dumps
    for written, session in enumerate(stream.sessions(), start=1):
        sid = f"{prefix}-{written - 1}"
        out.write(dumps({"session_id": sid, "items": session.items, "behavior": session.behavior}))
        out.write("\n")
        if progress is not None and written % PROGRESS_EVERY == 0:
            progress(stream.drawn, written)
    if progress is not None:
        progress(params.n_users, written)
    return written


def read_sessions(path: Path, limit: int = 0) -> Iterator[SessionRecord]:
    """The sessions of a sessions file, one line at a time (at most ``limit``; 0: all).

    Every line is checked as it is read; a bad one raises ``ValueError`` naming the file,
    the line and how to fix it (blank lines are skipped).
    """
    count = 0
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            yield _record(line, path, number)
            count += 1
            if limit and count >= limit:
                return


def _record(line: str, path: Path, number: int) -> SessionRecord:
    """One line's session, or ``ValueError`` saying what is wrong with it."""
    where = f"{path}:{number}"
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"{where}: not JSON ({exc.msg}); a sessions file holds one JSON object per line "
            "as `streamrec generate` writes it"
        ) from None
    if not isinstance(row, dict):
        raise ValueError(f"{where}: expected a JSON object with session_id and items")
    sid, items, behavior = row.get("session_id"), row.get("items"), row.get("behavior")
    if not isinstance(sid, str) or not sid:
        raise ValueError(f"{where}: session_id must be a non-empty string")
    if (
        not isinstance(items, list)
        or not items
        or not all(isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in items)
    ):
        raise ValueError(f"{where}: items must be a non-empty list of item ids (integers >= 0)")
    if behavior is not None and not isinstance(behavior, str):
        raise ValueError(f"{where}: behavior must be a string or null")
    return sid, items, behavior


def count_sessions(path: Path) -> int:
    """Non-blank lines of a sessions file, counted in blocks without parsing them."""
    count = 0
    with open(path, "rb") as f:
        tail = b""
        while block := f.read(1 << 20):
            lines = (tail + block).split(b"\n")
            tail = lines.pop()
            count += sum(1 for line in lines if line.strip())
        count += bool(tail.strip())
    return count
