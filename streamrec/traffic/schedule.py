"""Due times of clicks: paced, replayed from a log's own times, or Poisson session starts.

Every schedule is an iterator in due order (seconds since the start of the replay), lazy so
that endless replays (``rounds=0``) work, and deterministic for a seeded generator. A
session's clicks always come in their order: a click is never due before its predecessor.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Iterable, Iterator, Sequence
from typing import NamedTuple

import numpy as np

from streamrec.traffic.dwell import LogNormalDwell
from streamrec.traffic.profiles import FlatProfile, RateProfile


class ScheduledClick(NamedTuple):
    """One click of the replay: when it is due and which click it is."""

    due: float  # seconds after the start of the replay
    round: int  # 0-based replay round of the session list
    session: int  # index into the sessions the schedule was made from
    position: int  # the click's position in its session


def _rounds(rounds: int) -> Iterable[int]:
    return range(rounds) if rounds > 0 else itertools.count()


def paced_times(rate: float, profile: RateProfile | None = None) -> Iterator[float]:
    """Due times of events paced at ``rate`` events/s modulated by ``profile``:
    the k-th event (from 0) is due when the profile's work reaches k / rate."""
    if not rate > 0:
        raise ValueError(f"a paced rate must be > 0 events/s, got {rate}")
    shape = profile or FlatProfile()
    for k in itertools.count():
        yield shape.time_at(k / rate)


def poisson_arrivals(
    rate: float, rng: np.random.Generator, profile: RateProfile | None = None
) -> Iterator[float]:
    """Arrival times of a Poisson process of intensity ``rate * profile.multiplier(t)``.

    Unit-rate exponential steps on the profile's work scale, mapped back to time through its
    inverse (the time-rescaling theorem), so a flat profile gives a homogeneous process.
    """
    if not rate > 0:
        raise ValueError(f"a Poisson rate must be > 0 per second, got {rate}")
    shape = profile or FlatProfile()
    work = 0.0
    while True:
        work += float(rng.exponential(1.0 / rate))
        yield shape.time_at(work)


def replay_schedule(
    click_times: Sequence[Sequence[float]], speedup: float = 1.0, rounds: int = 1
) -> Iterator[ScheduledClick]:
    """The log's own times, relative to its first click and divided by ``speedup``.

    Sessions interleave as the log had them. A click logged before its predecessor (not
    possible for logs read by ``clicklog``) is due with the predecessor. Round ``r`` (for
    ``rounds`` > 1, or 0: endless) replays the same times shifted by ``r`` periods, a period
    being the log's span plus its median gap between session starts.
    """
    if not (speedup > 0 and math.isfinite(speedup)):
        raise ValueError(f"speed-up must be a finite number > 0, got {speedup}")
    lengths = [len(t) for t in click_times]
    if not click_times or min(lengths) == 0:
        raise ValueError("a replay schedule needs sessions with at least one click each")
    per_session = [np.maximum.accumulate(np.asarray(t, dtype=np.float64)) for t in click_times]
    times = np.concatenate(per_session)
    if not np.isfinite(times).all():
        raise ValueError("the replay clock needs a usable time on every click of the log")
    session = np.repeat(np.arange(len(lengths)), lengths)
    position = np.concatenate([np.arange(n) for n in lengths])
    due = (times - times.min()) / speedup
    order = np.lexsort((position, session, due))
    starts = np.sort([t[0] for t in per_session])
    pause = float(np.median(np.diff(starts))) / speedup if len(starts) > 1 else 0.0
    period = float(due.max()) + pause
    rows = list(zip(due[order].tolist(), session[order].tolist(), position[order].tolist()))
    for r in _rounds(rounds):
        offset = r * period
        for t, s, p in rows:
            yield ScheduledClick(t + offset, r, s, p)


def poisson_schedule(
    lengths: Sequence[int],
    sessions_per_s: float,
    rng: np.random.Generator,
    dwell: LogNormalDwell | None = None,
    profile: RateProfile | None = None,
    speedup: float = 1.0,
    rounds: int = 1,
) -> Iterator[ScheduledClick]:
    """Sessions start as a Poisson process at ``sessions_per_s`` (times the profile), in
    list order; each next click follows its predecessor after a dwell time drawn from
    ``dwell`` and divided by ``speedup``. Clicks of open sessions interleave by due time.

    Draws happen in session order (the start, then the session's dwell times), so the
    schedule depends on the generator's seed alone.
    """
    if not (speedup > 0 and math.isfinite(speedup)):
        raise ValueError(f"speed-up must be a finite number > 0, got {speedup}")
    if any(n < 1 for n in lengths):
        raise ValueError("a Poisson schedule needs sessions with at least one click each")
    if not lengths:
        return
    dwell = dwell or LogNormalDwell()
    arrivals = poisson_arrivals(sessions_per_s, rng, profile)
    upcoming = ((r, s) for r in _rounds(rounds) for s in range(len(lengths)))
    # (due, start number, round, session, position); the start number breaks ties in order
    heap: list[tuple[float, int, int, int, int]] = []
    dues: dict[int, list[float]] = {}
    started = 0
    following = next(upcoming, None)
    next_start = next(arrivals) if following is not None else math.inf
    while heap or following is not None:
        if following is not None and (not heap or next_start <= heap[0][0]):
            r, s = following
            gaps = dwell.sample(rng, lengths[s] - 1) / speedup
            dues[started] = (next_start + np.concatenate(([0.0], np.cumsum(gaps)))).tolist()
            heapq.heappush(heap, (next_start, started, r, s, 0))
            started += 1
            following = next(upcoming, None)
            next_start = next(arrivals) if following is not None else math.inf
            continue
        due, key, r, s, p = heapq.heappop(heap)
        yield ScheduledClick(due, r, s, p)
        if p + 1 < lengths[s]:
            heapq.heappush(heap, (dues[key][p + 1], key, r, s, p + 1))
        else:
            del dues[key]
