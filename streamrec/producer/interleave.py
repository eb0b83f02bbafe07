"""The flat clock's order: sessions interleaved at random, a fixed number open at once."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

from streamrec.model.data.session_file import SessionRecord
from streamrec.producer.sources import ReplaySessions


def round_suffix(round_no: int) -> str:
    """What a session id carries in replay round ``round_no`` (none in round 0)."""
    return f"~r{round_no}" if round_no else ""


def interleave(
    sessions: ReplaySessions, concurrency: int, seed: int, round_no: int = 0
) -> Iterator[tuple[str, int, int, str | None]]:
    """(session_id, seq, item_id, behavior) with ``concurrency`` sessions open at once.

    Each step emits the next click of a randomly chosen open session, so a session's clicks
    stay in order while different sessions interleave; a finished session makes room for the
    next one. Rounds after the first (continuous replay) give sessions new ids (``id~rN``),
    so they are new sessions to the consumer, not duplicates.
    """
    corpus = sessions.corpus
    records = (
        (corpus.session_ids[i], sessions.external_items(i), corpus.behaviors[i])
        for i in sessions.indices
    )
    return interleave_records(records, concurrency, seed, round_no)


def interleave_records(
    records: Iterable[SessionRecord], concurrency: int, seed: int, round_no: int = 0
) -> Iterator[tuple[str, int, int, str | None]]:
    """``interleave`` over (session id, items, behaviour) records, each taken from
    ``records`` only when a slot opens: at most ``concurrency`` sessions are held, so a
    stream of sessions (a sessions file) replays without being loaded."""
    suffix = round_suffix(round_no)
    rng = np.random.default_rng(seed)
    waiting = iter(records)
    open_sessions: list[tuple[str, list[int], str | None, list[int]]] = []  # ..., [next pos]
    exhausted = False
    while True:
        while len(open_sessions) < concurrency and not exhausted:
            record = next(waiting, None)
            if record is None:
                exhausted = True
            else:
                open_sessions.append((*record, [0]))
        if not open_sessions:
            return
        slot = int(rng.integers(len(open_sessions)))
        sid, items, behavior, at = open_sessions[slot]
        pos = at[0]
        yield sid + suffix, pos, items[pos], behavior
        if pos + 1 == len(items):
            open_sessions[slot] = open_sessions[-1]
            open_sessions.pop()
        else:
            at[0] = pos + 1
