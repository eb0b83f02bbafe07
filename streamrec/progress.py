"""Progress of long work: a live bar on a terminal, plain lines when output is piped.

``rich``'s live display draws nothing when its console is not a terminal, so a piped or
logged run of several minutes would look stuck. ``ProgressBoard`` keeps one interface for
both: on a terminal it is a ``rich`` progress display; otherwise it writes one plain line
per task every ``interval_s`` seconds (and a last one when the work ends).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

PLAIN_INTERVAL_S = 10.0


@dataclass
class _Task:
    label: str
    total: int | None
    completed: int = 0
    info: str = ""
    rich_id: TaskID | None = None
    shown: bool = True


class ProgressBoard:
    """Counted tasks shown as bars (terminal) or periodic plain lines (pipe, log file)."""

    def __init__(
        self,
        console: Console,
        enabled: bool = True,
        interval_s: float = PLAIN_INTERVAL_S,
        transient: bool = False,
    ) -> None:
        self.console = console
        self.enabled = enabled
        self.interval_s = interval_s
        self._tasks: list[_Task] = []
        self._started = time.monotonic()
        self._last_line = self._started
        self._live: Progress | None = None
        if enabled and console.is_terminal:
            self._live = Progress(
                TextColumn("{task.description:<10}"),
                BarColumn(),
                TextColumn("{task.fields[count]}"),
                TextColumn("{task.fields[info]}"),
                TimeElapsedColumn(),
                console=console,
                transient=transient,
            )

    def __enter__(self) -> ProgressBoard:
        if self._live is not None:
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.__exit__(None, None, None)
        elif self.enabled and any(t.shown for t in self._tasks):
            self._print_lines()

    def add(self, label: str, total: int | None = None) -> int:
        """A new task; returns its handle for ``update``."""
        task = _Task(label, total)
        if self._live is not None:
            task.rich_id = self._live.add_task(label, total=total, count=_count(task), info="")
        self._tasks.append(task)
        return len(self._tasks) - 1

    def update(
        self, handle: int, completed: int, total: int | None = None, info: str | None = None
    ) -> None:
        """Set a task's progress (and optionally its total and a short note)."""
        task = self._tasks[handle]
        task.completed = completed
        if total is not None:
            task.total = total
        if info is not None:
            task.info = info
        if not self.enabled:
            return
        if self._live is not None and task.rich_id is not None:
            self._live.update(
                task.rich_id, completed=completed, total=task.total, count=_count(task),
                info=task.info,
            )  # fmt: skip
            return
        now = time.monotonic()
        if now - self._last_line >= self.interval_s:
            self._last_line = now
            self._print_lines()

    def done(self, handle: int) -> None:
        """Stop showing a finished task (e.g. one epoch of several)."""
        task = self._tasks[handle]
        task.shown = False
        if self._live is not None and task.rich_id is not None:
            self._live.remove_task(task.rich_id)

    def note(self, text: str) -> None:
        """Print a line above the live display (or plainly)."""
        (self._live.console if self._live is not None else self.console).print(text)

    def _print_lines(self) -> None:
        elapsed = time.monotonic() - self._started
        for task in self._tasks:
            if not task.shown:
                continue
            self.console.print(
                f"{task.label}: {_count(task)}{_percent(task)} {task.info}".rstrip()
                + f" [{elapsed:.0f}s]",
                highlight=False,
            )


def _count(task: _Task) -> str:
    return f"{task.completed:,}/{task.total:,}" if task.total else f"{task.completed:,}"


def _percent(task: _Task) -> str:
    return f" ({100 * task.completed / task.total:.0f}%)" if task.total else ""


def human_duration(seconds: float) -> str:
    """A duration as people say it: ``4.2 s``, ``45 s``, ``24 min 24 s``, ``2 h 05 min``."""
    if seconds < 10:
        return f"{max(seconds, 0.0):.1f} s"
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    minutes = round(seconds / 60)
    return f"{minutes // 60} h {minutes % 60:02d} min"
