"""Replaying a sessions file (``streamrec generate --out``) without loading it.

``FileSessions`` reads the file one line at a time each round; the flat clock's interleaving
takes a session only when a slot opens (``interleave_records``), so the producer holds at most
``concurrency`` sessions whatever the file's size. The other clocks need every session's
length (Poisson) or click times (replay) before the first event, so they read a corpus.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from streamrec.model.data.session_file import SessionRecord, count_sessions, read_sessions


@dataclass(frozen=True)
class FileSessions:
    """The sessions of a sessions file, streamed: at most ``max_sessions`` (0: all)."""

    path: Path
    max_sessions: int = 0

    def records(self) -> Iterator[SessionRecord]:
        """(session id, items, behaviour) of each session, read as they are asked for."""
        return read_sessions(self.path, self.max_sessions)

    def count(self) -> int:
        """How many sessions a round replays (one pass over the file, nothing parsed)."""
        total = count_sessions(self.path)
        return min(total, self.max_sessions) if self.max_sessions else total

    @property
    def n_events(self) -> int:
        """0: unknown until read (the replay runs until the file or ``--limit`` ends)."""
        return 0

    def first_ids(self, count: int) -> list[str]:
        """The ids of the first ``count`` sessions."""
        return [sid for sid, _, _ in read_sessions(self.path, count)]
