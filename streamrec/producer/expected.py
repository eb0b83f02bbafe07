"""How long a clock replay will take, said before it starts, and the ETA while it runs.

A replay on a clock (the log's own times, Poisson session starts, or a paced flat clock)
follows a schedule known in advance: the replay ends when the last event it will send is
due (plus whatever the producer falls behind). ``expected_replay`` finds that moment from
the same timeline the producer follows (same clock, seed and concurrency), so that
``produce`` can say up front "replaying 16,539 events over 24 min 24 s of schedule" and show
an ETA instead of looking hung. A replay without due times (the flat clock as fast as
possible) or without an end (endless rounds and no limit) has no expected duration.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from streamrec.producer.file_source import FileSessions
from streamrec.producer.sources import ReplaySessions
from streamrec.producer.timeline import timeline
from streamrec.progress import human_duration
from streamrec.traffic.clock import ClockSpec


def planned_events(per_round: int, rounds: int, limit: int) -> int:
    """Events a replay sends: ``rounds`` rounds of ``per_round`` events (0 rounds: endless),
    at most ``limit`` (0: no limit); 0 when it has no end."""
    planned = per_round * rounds if rounds > 0 else 0
    if limit > 0 and planned:
        return min(limit, planned)
    return limit or planned


@dataclass(frozen=True)
class ExpectedReplay:
    """What a replay will send and over how long a schedule."""

    events: int  # 0: no end (endless rounds, no limit)
    schedule_s: float | None  # when the last event is due; None: no due times or no end
    why: str  # how the schedule comes about, e.g. "log span 24 h 24 min / speedup 60"

    def describe(self) -> str:
        """The line said before the replay starts."""
        if self.events == 0:
            return f"replaying until stopped ({self.why})"
        if self.schedule_s is None:
            return f"replaying {self.events:,} events as fast as the broker takes them"
        return (
            f"replaying {self.events:,} events over {human_duration(self.schedule_s)} of "
            f"schedule ({self.why})"
        )

    def eta_s(self, elapsed_s: float, behind_s: float | None = None) -> float | None:
        """Seconds left until the last event is due, ``elapsed_s`` into the replay and
        ``behind_s`` behind its schedule; None without an expected duration."""
        if self.schedule_s is None or self.events == 0:
            return None
        return max(self.schedule_s + (behind_s or 0.0) - elapsed_s, 0.0)


def log_span_s(sessions: ReplaySessions) -> float | None:
    """Seconds from the first to the last click of the replayed sessions (None without
    times)."""
    times = sessions.click_times()
    if not times:
        return None
    flat = [t for session in times for t in session]
    return max(flat) - min(flat) if flat else None


def _why(sessions: ReplaySessions, clock: ClockSpec, rate: float) -> str:
    if clock.kind == "replay":
        span = log_span_s(sessions)
        shown = "unknown" if span is None else human_duration(span)
        return f"log span {shown} / speedup {clock.speedup:g}"
    return clock.describe(rate)


def expected_replay(
    sessions: ReplaySessions | FileSessions,
    clock: ClockSpec,
    rate: float = 0.0,
    concurrency: int = 100,
    seed: int = 0,
    rounds: int = 1,
    limit: int = 0,
) -> ExpectedReplay:
    """The replay ``ClickProducer.replay`` makes with these arguments: how many events and
    when the last of them is due (the timeline walked to that event)."""
    events = planned_events(sessions.n_events, rounds, limit)
    if isinstance(sessions, FileSessions):  # streamed: its events are known once sent
        return ExpectedReplay(events, None, clock.describe(rate))
    why = _why(sessions, clock, rate)
    if events == 0 or (clock.kind == "flat" and rate <= 0):
        return ExpectedReplay(events, None, why)
    last = None
    for due, *_ in itertools.islice(
        timeline(sessions, clock, rate, concurrency, seed, rounds), events
    ):
        last = due
    return ExpectedReplay(events, last, why)
