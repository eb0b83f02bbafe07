"""Signals for long loops: SIGTERM (a normal stop) or SIGINT (an interruption) end them
cleanly; SIGHUP asks a consumer to reload its model."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass
class StopRequest:
    """Set by SIGTERM or SIGINT; call it to ask whether a stop was requested."""

    signum: int | None = None

    def __call__(self) -> bool:
        return self.signum is not None

    @property
    def name(self) -> str:
        """The signal's name, or '' when none arrived."""
        return signal.Signals(self.signum).name if self.signum is not None else ""


@contextmanager
def stop_on_signals() -> Iterator[StopRequest]:
    """Catch SIGTERM and SIGINT for a loop that ends cleanly; the old handlers come back.

    Install it before slow start-up work (importing torch, loading a model), so a stop asked
    for during start-up is honoured too instead of killing the process."""
    request = StopRequest()

    def handler(signum: int, _frame: object) -> None:
        request.signum = signum

    previous = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield request
    finally:
        for s, old in previous.items():
            signal.signal(s, old)


@dataclass
class ReloadRequest:
    """Set by SIGHUP; ``take()`` says whether one arrived since the last call and clears it."""

    pending: bool = False

    def take(self) -> bool:
        """True once per SIGHUP (several before one call count once)."""
        pending, self.pending = self.pending, False
        return pending


@contextmanager
def reload_on_sighup() -> Iterator[ReloadRequest]:
    """Catch SIGHUP (reload the served model) for a long-running loop; the old handler comes
    back. Without it SIGHUP would end the process."""
    request = ReloadRequest()

    def handler(_signum: int, _frame: object) -> None:
        request.pending = True

    previous = signal.signal(signal.SIGHUP, handler)
    try:
        yield request
    finally:
        signal.signal(signal.SIGHUP, previous)
