"""Rate profiles: a multiplier m(t) >= 0 of a base rate, t in seconds since the start.

A profile also gives its integral W(t) = int_0^t m (the "work" a base rate of 1 does by t)
and the inverse, ``time_at(w)``: the moment that work is done. Paced events of a base rate
``r`` are due at ``time_at(k / r)``; a Poisson process of intensity ``r * m(t)`` has its
arrivals at ``time_at`` of a homogeneous unit-rate process's arrivals divided by ``r`` (the
time-rescaling theorem), so both stay exact however the rate moves.

- ``flat``: m = 1.
- ``diurnal``: a compressed day of ``day_seconds``, m(t) = 1 - a cos(2 pi t / day): the run
  starts at the night's trough (1 - a), peaks at noon (1 + a) and averages 1 over a day, so
  the base rate is the day's mean.
- ``burst``: a flash crowd, m = ``factor`` for ``seconds`` from ``start``, 1 elsewhere.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

PROFILES = ("flat", "diurnal", "burst")
DEFAULT_DAY_SECONDS = 300.0  # a day compressed into five minutes
# night trough at 0.3x and midday peak at 1.7x of the day's mean rate
DIURNAL_AMPLITUDE = 0.7
DEFAULT_BURST_START_S = 30.0
DEFAULT_BURST_SECONDS = 30.0
DEFAULT_BURST_FACTOR = 5.0
_NEWTON_STEPS = 60


class RateProfile(Protocol):
    """A rate multiplier over time, its integral and the integral's inverse."""

    @property
    def name(self) -> str:
        """The profile's name (one of ``PROFILES``)."""
        ...

    def multiplier(self, t: float) -> float:
        """m(t): the base rate's multiplier at ``t`` seconds."""
        ...

    def work(self, t: float) -> float:
        """W(t) = integral of m from 0 to ``t``."""
        ...

    def time_at(self, work: float) -> float:
        """The t >= 0 with W(t) = ``work`` (``work`` >= 0)."""
        ...


@dataclass(frozen=True)
class FlatProfile:
    """The base rate all the time."""

    name: str = "flat"

    def multiplier(self, t: float) -> float:
        """Always 1."""
        return 1.0

    def work(self, t: float) -> float:
        """W(t) = t."""
        return t

    def time_at(self, work: float) -> float:
        """t = W."""
        return work


@dataclass(frozen=True)
class DiurnalProfile:
    """A compressed day: m(t) = 1 - amplitude * cos(2 pi t / day_seconds)."""

    day_seconds: float = DEFAULT_DAY_SECONDS
    amplitude: float = DIURNAL_AMPLITUDE
    name: str = "diurnal"

    def __post_init__(self) -> None:
        if not self.day_seconds > 0 or not math.isfinite(self.day_seconds):
            raise ValueError(f"day length must be > 0 seconds, got {self.day_seconds}")
        if not 0 <= self.amplitude < 1:
            raise ValueError(f"diurnal amplitude must be in [0, 1), got {self.amplitude}")

    def multiplier(self, t: float) -> float:
        """The day's shape at ``t``: 1 - a at midnight, 1 + a at noon."""
        return 1.0 - self.amplitude * math.cos(2 * math.pi * t / self.day_seconds)

    def work(self, t: float) -> float:
        """W(t) = t - a * day / (2 pi) * sin(2 pi t / day)."""
        omega = 2 * math.pi / self.day_seconds
        return t - self.amplitude / omega * math.sin(omega * t)

    def time_at(self, work: float) -> float:
        """Safeguarded Newton: W is increasing (m >= 1 - a > 0) and within a*day/2pi of t."""
        reach = self.amplitude * self.day_seconds / (2 * math.pi)
        low, high = max(work - reach, 0.0), work + reach
        t = min(max(work, low), high)
        tolerance = 1e-12 * max(1.0, abs(work))
        for _ in range(_NEWTON_STEPS):
            error = self.work(t) - work
            if abs(error) <= tolerance:
                break
            if error > 0:
                high = t
            else:
                low = t
            step = t - error / self.multiplier(t)
            t = step if low < step < high else (low + high) / 2
        return t


@dataclass(frozen=True)
class BurstProfile:
    """A flash crowd: ``factor`` times the rate for ``seconds`` from ``start``."""

    start: float = DEFAULT_BURST_START_S
    seconds: float = DEFAULT_BURST_SECONDS
    factor: float = DEFAULT_BURST_FACTOR
    name: str = "burst"

    def __post_init__(self) -> None:
        for what, value, ok in (
            ("burst start", self.start, self.start >= 0),
            ("burst length", self.seconds, self.seconds > 0),
            ("burst factor", self.factor, self.factor > 0),
        ):
            if not ok or not math.isfinite(value):
                limit = ">= 0" if what == "burst start" else "> 0"
                raise ValueError(f"{what} must be {limit}, got {value}")

    @property
    def end(self) -> float:
        """When the burst is over."""
        return self.start + self.seconds

    def multiplier(self, t: float) -> float:
        """``factor`` inside the window, 1 outside."""
        return self.factor if self.start <= t < self.end else 1.0

    def work(self, t: float) -> float:
        """Piecewise linear: slope 1, then ``factor``, then 1 again."""
        if t <= self.start:
            return t
        if t <= self.end:
            return self.start + self.factor * (t - self.start)
        return t + (self.factor - 1.0) * self.seconds

    def time_at(self, work: float) -> float:
        """The exact inverse of ``work``."""
        if work <= self.start:
            return work
        burst_work = self.factor * self.seconds
        if work <= self.start + burst_work:
            return self.start + (work - self.start) / self.factor
        return work - burst_work + self.seconds


def make_profile(
    name: str,
    day_seconds: float = DEFAULT_DAY_SECONDS,
    burst_start: float = DEFAULT_BURST_START_S,
    burst_seconds: float = DEFAULT_BURST_SECONDS,
    burst_factor: float = DEFAULT_BURST_FACTOR,
) -> RateProfile:
    """The profile called ``name`` with its parameters; ``ValueError`` for a bad one."""
    if name == "flat":
        return FlatProfile()
    if name == "diurnal":
        return DiurnalProfile(day_seconds)
    if name == "burst":
        return BurstProfile(burst_start, burst_seconds, burst_factor)
    raise ValueError(f"unknown rate profile {name!r}; choose {', '.join(PROFILES)}")
