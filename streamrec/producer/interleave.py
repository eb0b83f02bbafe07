"""The flat clock's order: sessions interleaved at random, a fixed number open at once."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator

import numpy as np

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
    suffix = round_suffix(round_no)
    rng = np.random.default_rng(seed)
    waiting = deque(sessions.indices)
    open_sessions: list[list[int]] = []  # [corpus index, next position]
    items_of: dict[int, list[int]] = {}
    while open_sessions or waiting:
        while len(open_sessions) < concurrency and waiting:
            idx = waiting.popleft()
            items_of[idx] = sessions.external_items(idx)
            open_sessions.append([idx, 0])
        slot = int(rng.integers(len(open_sessions)))
        idx, pos = open_sessions[slot]
        corpus = sessions.corpus
        yield corpus.session_ids[idx] + suffix, pos, items_of[idx][pos], corpus.behaviors[idx]
        if pos + 1 == len(items_of[idx]):
            open_sessions[slot] = open_sessions[-1]
            open_sessions.pop()
            del items_of[idx]
        else:
            open_sessions[slot][1] = pos + 1
