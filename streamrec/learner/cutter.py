"""Where the learner cuts the click stream into versions: per-partition event-time marks, the
watermark, idle partitions, t0 and the clicks before a boundary. Pure (no Kafka, no model).

- **Event time.** Each click has the ``ts`` of its event. Within a partition a click is taken
  at its *effective* time, ``max(ts, the partition's running maximum)``: a click whose time
  goes back (out of order) is learned as if it came at the latest time its partition had
  reached, so every partition's effective times never decrease.
- **Watermark.** The least running maximum over the assigned partitions that are not idle.
  Boundary ``t0 + k R`` is crossed when the watermark reaches it: every active partition has
  a click at or after it, so (effective times being monotone) it has delivered every click
  before it. With every partition idle the watermark is the latest time seen anywhere.
- **Idle.** A partition the learner has read to its end (its position at the high watermark
  of the last fetch) for at least ``idle_timeout_s`` no longer holds the watermark back. That
  is the only guess the learner makes: a producer that stalls one partition longer than that
  while others go on lets boundaries pass, and the stalled partition's clicks before them
  are learned in the next version (their effective times are moved up, as above).
- **t0.** The first boundary's origin: the earliest first click over the partitions, fixed
  once every assigned partition has a click, or once ``idle_timeout_s`` has passed since the
  first click was read and the partitions without one are idle (so it does not depend on
  which partition the learner happened to read first; a click sent before the first one read
  but delivered more than the idle timeout after it would come before t0, as a late click).
- **Cut.** Version k holds, per partition, the leading clicks with an effective time before
  boundary k; the first offset not taken is the partition's offset in the manifest.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np


@dataclass(slots=True)
class Click:
    """One click read from a partition, at its effective time."""

    offset: int
    time: float
    session: int
    item: int


@dataclass
class PartitionMark:
    """What the learner knows of one partition."""

    next_offset: int  # the first offset not read yet
    running_max: float | None = None  # the latest event time read (effective times)
    first_time: float | None = None  # the first click's time read since the start
    pending: deque[Click] = field(default_factory=deque)  # read, not learned yet
    caught_up_since: float | None = None  # monotonic seconds since it has been at its end
    learned_max: float | None = None  # the running maximum at the first offset not learned


@dataclass(frozen=True)
class Cut:
    """The clicks before a boundary, in event-time order (ties: partition, then offset), and
    per partition the first offset and running maximum after them."""

    sessions: np.ndarray
    items: np.ndarray
    times: np.ndarray
    offsets: dict[int, int]
    marks: dict[int, float]

    def __len__(self) -> int:
        return len(self.items)


class StreamCutter:
    """Per-partition marks of the clicks read, and what a boundary takes from them."""

    def __init__(self, idle_timeout_s: float) -> None:
        if not idle_timeout_s > 0:
            raise ValueError(f"idle_timeout_s must be > 0, got {idle_timeout_s}")
        self.idle_timeout_s = idle_timeout_s
        self.partitions: dict[int, PartitionMark] = {}
        self.first_read_at: float | None = None  # monotonic seconds of the first click read

    def assign(self, partition: int, next_offset: int, running_max: float | None) -> None:
        """Start reading ``partition`` at ``next_offset`` (``running_max``: its running
        maximum before that offset, from the version it resumes, or None)."""
        self.partitions[partition] = PartitionMark(
            next_offset, running_max, learned_max=running_max
        )

    def revoke(self, partition: int) -> None:
        """Forget ``partition`` (its unlearned clicks are read again by whoever resumes)."""
        self.partitions.pop(partition, None)

    def add(
        self,
        partition: int,
        offset: int,
        time: float,
        session: int,
        item: int,
        now: float = 0.0,
    ) -> None:
        """A click read from ``partition`` at ``offset`` with event time ``time``, at ``now``
        (monotonic seconds)."""
        mark = self.partitions[partition]
        if offset < mark.next_offset:  # read again after a seek: already held or learned
            return
        effective = time if mark.running_max is None else max(time, mark.running_max)
        mark.running_max = effective
        if mark.first_time is None:
            mark.first_time = time
            if self.first_read_at is None:
                self.first_read_at = now
        mark.pending.append(Click(offset, effective, session, item))
        mark.next_offset = offset + 1
        mark.caught_up_since = None

    def note_position(self, partition: int, at_end: bool, now: float) -> None:
        """Whether ``partition`` has been read to its end (as of the last fetch) at ``now``
        (monotonic seconds)."""
        mark = self.partitions.get(partition)
        if mark is None:
            return
        if not at_end:
            mark.caught_up_since = None
        elif mark.caught_up_since is None:
            mark.caught_up_since = now

    def idle(self, partition: int, now: float) -> bool:
        """Whether ``partition`` no longer holds the watermark back."""
        since = self.partitions[partition].caught_up_since
        return since is not None and now - since >= self.idle_timeout_s

    def watermark(self, now: float) -> float | None:
        """The event time every active partition has reached (None: one has no click yet)."""
        if not self.partitions:
            return None
        active = [m for p, m in self.partitions.items() if not self.idle(p, now)]
        if not active:
            seen = [m.running_max for m in self.partitions.values() if m.running_max is not None]
            return max(seen) if seen else None
        marks = [m.running_max for m in active]
        if any(m is None for m in marks):
            return None
        return min(m for m in marks if m is not None)

    def first_time(self, now: float) -> float | None:
        """t0 once it can be fixed (see the module's docstring), else None."""
        firsts = [m.first_time for m in self.partitions.values() if m.first_time is not None]
        if not firsts or self.first_read_at is None:
            return None
        if len(firsts) < len(self.partitions):
            if now - self.first_read_at < self.idle_timeout_s:
                return None
            silent = [p for p, m in self.partitions.items() if m.first_time is None]
            if not all(self.idle(p, now) for p in silent):
                return None
        return min(firsts)

    def pending(self) -> int:
        """Clicks read and not learned yet."""
        return sum(len(m.pending) for m in self.partitions.values())

    def take_before(self, boundary: float) -> Cut:
        """Remove and return, per partition, the leading pending clicks before ``boundary``."""
        taken: list[tuple[float, int, int, int, int]] = []
        offsets: dict[int, int] = {}
        marks: dict[int, float] = {}
        for p, mark in self.partitions.items():
            queue = mark.pending
            while queue and queue[0].time < boundary:
                c = queue.popleft()
                taken.append((c.time, p, c.offset, c.session, c.item))
                mark.learned_max = c.time
            offsets[p] = queue[0].offset if queue else mark.next_offset
            if mark.learned_max is not None:
                marks[p] = mark.learned_max
        taken.sort(key=lambda c: (c[0], c[1], c[2]))
        return Cut(
            sessions=np.fromiter((c[3] for c in taken), np.int64, len(taken)),
            items=np.fromiter((c[4] for c in taken), np.int64, len(taken)),
            times=np.fromiter((c[0] for c in taken), np.float64, len(taken)),
            offsets=offsets,
            marks=marks,
        )
