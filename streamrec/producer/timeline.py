"""The replay as a timeline: every click event with the time it is due, under a clock.

``timeline`` joins a clock's schedule (``streamrec.traffic``) with the sessions' ids, items
and labels; the producer only waits and sends. Rounds after the first (continuous replay)
give sessions new ids (``id~rN``), so they are new sessions to the consumer.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator

import numpy as np

from streamrec.producer.file_source import FileSessions
from streamrec.producer.interleave import interleave, interleave_records, round_suffix
from streamrec.producer.sources import ReplaySessions
from streamrec.traffic.clock import ClockSpec
from streamrec.traffic.schedule import (
    ScheduledClick,
    paced_times,
    poisson_schedule,
    replay_schedule,
)

_FILE_CLOCK = (
    "--sessions-file streams with --clock flat only (the other clocks need every session "
    "before the first event); drop --clock, or replay generated sessions with --users/--items"
)
# (due seconds after the start, or None: send at once; session id; seq; item id; behaviour)
TimedEvent = tuple[float | None, str, int, int, str | None]


def timeline(
    sessions: ReplaySessions | FileSessions,
    clock: ClockSpec,
    rate: float = 0.0,
    concurrency: int = 100,
    seed: int = 0,
    rounds: int = 1,
    first_round: int = 0,
) -> Iterator[TimedEvent]:
    """The events of ``rounds`` replays (0: endless) of ``sessions`` in the order they are due.

    ``rate`` and ``concurrency`` belong to the flat clock (``rate`` 0: as fast as possible);
    ``seed`` draws its interleaving and the Poisson clock's arrivals and dwell times.
    """
    if clock.kind == "flat":
        yield from _flat(sessions, clock, rate, concurrency, seed, rounds, first_round)
        return
    if isinstance(sessions, FileSessions):
        raise ValueError(_FILE_CLOCK)
    check_clock(sessions, clock)
    if clock.kind == "replay":
        schedule = replay_schedule(sessions.click_times() or [], clock.speedup, rounds)
    else:
        lengths = [len(sessions.corpus.sessions[i]) for i in sessions.indices]
        schedule = poisson_schedule(
            lengths,
            clock.sessions_per_s,
            np.random.default_rng(seed),
            clock.dwell,
            clock.profile,
            clock.speedup,
            rounds,
        )
    yield from _events(sessions, schedule, first_round)


def check_clock(sessions: ReplaySessions | FileSessions, clock: ClockSpec) -> None:
    """``ValueError`` when ``clock`` cannot time these sessions (the replay clock needs a
    usable time on every click; a sessions file streams with the flat clock only)."""
    if isinstance(sessions, FileSessions):
        if clock.kind != "flat":
            raise ValueError(_FILE_CLOCK)
        return
    if clock.kind != "replay":
        return
    times = sessions.click_times()
    if times is None:
        raise ValueError(
            "--clock replay needs a click log with times (--from-csv); generated sessions "
            "have none: use --clock poisson"
        )
    if not all(math.isfinite(t) for session in times for t in session):
        raise ValueError(
            "--clock replay needs a usable time on every click; this log has clicks without "
            "one (check --time-columns)"
        )


def _flat(
    sessions: ReplaySessions | FileSessions,
    clock: ClockSpec,
    rate: float,
    concurrency: int,
    seed: int,
    rounds: int,
    first_round: int,
) -> Iterator[TimedEvent]:
    numbers = (
        range(first_round, first_round + rounds) if rounds > 0 else itertools.count(first_round)
    )
    if isinstance(sessions, FileSessions):
        source = sessions
        events = (
            event
            for round_no in numbers
            for event in interleave_records(
                source.records(), concurrency, seed + round_no, round_no
            )
        )
    else:
        events = (
            event
            for round_no in numbers
            for event in interleave(sessions, concurrency, seed + round_no, round_no)
        )
    if rate <= 0:
        for sid, seq, item, behavior in events:
            yield None, sid, seq, item, behavior
        return
    for due, (sid, seq, item, behavior) in zip(paced_times(rate, clock.profile), events):
        yield due, sid, seq, item, behavior


def _events(
    sessions: ReplaySessions, schedule: Iterator[ScheduledClick], first_round: int
) -> Iterator[TimedEvent]:
    corpus = sessions.corpus
    ids = [corpus.session_ids[i] for i in sessions.indices]
    labels = [corpus.behaviors[i] for i in sessions.indices]
    items = [sessions.external_items(i) for i in sessions.indices]
    for due, r, s, position in schedule:
        sid = ids[s] + round_suffix(first_round + r)
        yield due, sid, position, items[s][position], labels[s]
