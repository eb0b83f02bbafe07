"""A run's phases, back to back: what each one does, said as it starts, and how long it took.

A pipeline run (the demo, a load test) goes through set-up, the replay, and then work that
used to pass in silence: the final metrics, stopping the consumers and servers, offline
evaluation, the oracle's line, the plots. ``PhaseClock`` names each phase as it begins (one
line on the console, so a piped run says what it is doing too) and times it. Phases are
consecutive (each starts where the previous ended) and a phase named twice adds up, so the
parts always add up to the total.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

TOTAL = "total"


class PhaseClock:
    """Times consecutive named phases of one run; ``timings()`` has each one and the total."""

    def __init__(
        self,
        console: Console | None,
        first: str = "setup",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.console = console
        self.clock = clock
        self.started = self._mark = clock()
        self.current = first
        self._seconds: dict[str, float] = {first: 0.0}

    def begin(self, name: str, doing: str | None = None) -> None:
        """End the running phase and start ``name``; print ``doing`` (what it does) if given."""
        self._close()
        self.current = name
        self._seconds.setdefault(name, 0.0)
        if doing and self.console is not None:
            self.console.print(f"{doing} ...", markup=False, highlight=False)

    def _close(self) -> None:
        now = self.clock()
        self._seconds[self.current] += now - self._mark
        self._mark = now

    def timings(self) -> dict[str, float]:
        """Seconds per phase so far (the running one up to now) and ``total``: their sum."""
        self._close()
        return {**self._seconds, TOTAL: self._mark - self.started}


def rounded(timings: dict[str, float], decimals: int = 1) -> dict[str, float]:
    """``timings`` rounded for a report (the parts then add up to the total within
    rounding: half a unit of the last decimal per part)."""
    return {name: round(seconds, decimals) for name, seconds in timings.items()}
