"""The producer's clock, described once: which clock, its speed, its rate profile, dwell times.

- ``flat``: today's replay: sessions interleaved ``concurrency`` at a time, as fast as
  possible or paced at a rate (which the profile modulates);
- ``replay``: a click log's own times, divided by ``speedup`` (1 = real time);
- ``poisson``: sessions start as a Poisson process at ``sessions_per_s`` (modulated by the
  profile); the time between a session's clicks is drawn from ``dwell`` (divided by
  ``speedup``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from streamrec.traffic.dwell import LogNormalDwell
from streamrec.traffic.profiles import FlatProfile, RateProfile

CLOCKS = ("flat", "replay", "poisson")
DEFAULT_SESSIONS_PER_S = 20.0


@dataclass(frozen=True)
class ClockSpec:
    """How the producer times its events (``kind`` one of ``CLOCKS``)."""

    kind: str = "flat"
    speedup: float = 1.0
    sessions_per_s: float = DEFAULT_SESSIONS_PER_S
    profile: RateProfile = field(default_factory=FlatProfile)
    dwell: LogNormalDwell = field(default_factory=LogNormalDwell)

    def __post_init__(self) -> None:
        if self.kind not in CLOCKS:
            raise ValueError(f"unknown clock {self.kind!r}; choose {', '.join(CLOCKS)}")
        for what, value in (("speed-up", self.speedup), ("sessions/s", self.sessions_per_s)):
            if not (value > 0 and math.isfinite(value)):
                raise ValueError(f"{what} must be a finite number > 0, got {value}")

    def describe(self, rate: float = 0.0) -> str:
        """One line: the clock and its parameters (``rate``: the flat clock's events/s)."""
        shape = "" if self.profile.name == "flat" else f", {self.profile.name} profile"
        if self.kind == "replay":
            return f"replay clock: the log's own times at {self.speedup:g}x"
        if self.kind == "poisson":
            return (
                f"poisson clock: {self.sessions_per_s:g} sessions/s{shape}, "
                f"{self.dwell.describe()} at {self.speedup:g}x"
            )
        pace = f"{rate:g} events/s" if rate > 0 else "as fast as possible"
        return f"flat clock: {pace}{shape}"
