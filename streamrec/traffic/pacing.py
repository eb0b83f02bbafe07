"""Sending on time: wait until each event's due time, measured from one fixed start.

Every due time is an offset from the moment the pacer started, never the sum of earlier
sleeps, so waits that overshoot (a loaded machine, a slow send) never add up: a late event
is sent at once and the next one is due at its own time again. How late each event went out
(its lag) is summarised for the report.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

LAG_SAMPLE = 50_000  # lags kept for the quantiles (a uniform sample beyond that)
WAIT_SLICE_S = 0.1  # the longest single wait, so a stop request is seen within it


@dataclass(frozen=True)
class PacingReport:
    """Scheduled vs achieved: the span the schedule asked for, the one it took, the lags."""

    events: int
    scheduled_seconds: float  # due time of the last event sent
    achieved_seconds: float  # when it was sent, from the same start
    lag_p50_ms: float
    lag_p99_ms: float
    lag_max_ms: float

    def describe(self) -> str:
        """One line for the end of a run."""
        return (
            f"schedule: {self.scheduled_seconds:.1f}s planned, last event sent at "
            f"{self.achieved_seconds:.1f}s; send lag p50 {self.lag_p50_ms:.1f} ms, "
            f"p99 {self.lag_p99_ms:.1f} ms, max {self.lag_max_ms:.1f} ms"
        )


class Pacer:
    """Waits until due times (seconds after its start) and records each event's lag.

    ``wait(seconds)`` sleeps up to that long and may return early (the producer's poll serves
    delivery reports while it waits); ``now`` is a monotonic clock.
    """

    def __init__(
        self,
        wait: Callable[[float], object] = time.sleep,
        now: Callable[[], float] = time.monotonic,
        seed: int = 0,
    ) -> None:
        self._wait = wait
        self._now = now
        self.start = now()
        self.events = 0
        self.last_due = 0.0
        self.last_sent = 0.0
        self.max_lag = 0.0
        self._lags: list[float] = []
        self._rng = np.random.default_rng(seed)

    def wait_until(self, due: float, should_stop: Callable[[], bool] | None = None) -> bool:
        """Return once ``due`` seconds have passed since the start (False: stopped first)."""
        target = self.start + due
        while (ahead := target - self._now()) > 0:
            if should_stop is not None and should_stop():
                return False
            self._wait(min(ahead, WAIT_SLICE_S))
        return True

    def record(self, due: float) -> float:
        """Note that the event due at ``due`` goes out now; returns its lag in seconds."""
        sent = self._now() - self.start
        lag = max(sent - due, 0.0)
        self.events += 1
        self.last_due, self.last_sent = due, sent
        self.max_lag = max(self.max_lag, lag)
        if len(self._lags) < LAG_SAMPLE:
            self._lags.append(lag)
        else:  # reservoir sampling keeps a uniform sample of every lag so far
            slot = int(self._rng.integers(self.events))
            if slot < LAG_SAMPLE:
                self._lags[slot] = lag
        return lag

    def report(self) -> PacingReport | None:
        """The summary so far (None before the first event)."""
        if not self.events:
            return None
        p50, p99 = np.quantile(np.asarray(self._lags), [0.5, 0.99]) * 1000
        return PacingReport(
            self.events,
            self.last_due,
            self.last_sent,
            float(p50),
            float(p99),
            self.max_lag * 1000,
        )
