"""Flag value types: text to int/float/Path with one-line messages, and bounds for run flags.

Settings flags only convert (``Settings.validate`` checks their values); the per-run flags
that are not settings (``--rate``, ``--sessions``, ports, ...) state their bounds here, with
``number(int, min=1)`` and the like.
"""

from __future__ import annotations

import argparse
import math
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from streamrec.refresh import parse_refresh

N = TypeVar("N", int, float)

KIND_NAMES = {int: "a whole number", float: "a number"}


def number(
    kind: type[N],
    *,
    min: float | None = None,
    max: float | None = None,
    above: float | None = None,
) -> Callable[[str], N]:
    """An argparse ``type``: ``kind`` parsed from text, then checked against the bounds.

    ``min``/``max`` are inclusive, ``above`` exclusive; a bounded float must be finite.
    Each failure is one line, e.g. ``must be >= 1, got 0``.
    """
    bounded = min is not None or max is not None or above is not None
    noun = "a finite number " if kind is float else ""

    def parse(text: str) -> N:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {KIND_NAMES[kind]}, got {text!r}") from None
        if kind is float and bounded and not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
        if min is not None and max is not None and not min <= value <= max:
            raise argparse.ArgumentTypeError(f"must be in {min:g}..{max:g}, got {text}")
        for ok, rule in (
            (min is None or value >= min, f">= {min:g}" if min is not None else ""),
            (max is None or value <= max, f"<= {max:g}" if max is not None else ""),
            (above is None or value > above, f"> {above:g}" if above is not None else ""),
        ):
            if not ok:
                raise argparse.ArgumentTypeError(f"must be {noun}{rule}, got {text}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in some messages
    return parse


def number_list(item: Callable[[str], N]) -> Callable[[str], list[N]]:
    """An argparse ``type`` for comma-separated values, each parsed by ``item``."""

    def parse(text: str) -> list[N]:
        parts = [p.strip() for p in text.split(",") if p.strip()]
        if not parts:
            raise argparse.ArgumentTypeError(f"expected comma-separated values, got {text!r}")
        return [item(p) for p in parts]

    parse.__name__ = "list"
    return parse


def name_list(choices: tuple[str, ...]) -> Callable[[str], list[str]]:
    """An argparse ``type`` for comma-separated names, each one of ``choices``, no repeats."""

    def parse(text: str) -> list[str]:
        names = [n.strip() for n in text.split(",") if n.strip()]
        unknown = [n for n in names if n not in choices]
        if not names or unknown:
            raise argparse.ArgumentTypeError(
                f"expected names from {', '.join(choices)}, got {', '.join(unknown) or text!r}"
            )
        if len(set(names)) != len(names):
            raise argparse.ArgumentTypeError(f"a name is given twice in {text!r}")
        return names

    parse.__name__ = "names"
    return parse


def writable_folder(folder: Path, flag: str) -> None:
    """Make ``folder`` (and its parents) if missing; ``OSError`` or ``ValueError`` (one line
    naming ``flag``) unless files can be written in it. Checked before long work, not after."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValueError(f"{flag}: cannot make {folder}: {exc.strerror or exc}") from None
    try:  # a real file: permission bits do not tell (root, read-only mounts, /proc)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise ValueError(f"{flag}: cannot write in {folder}: {exc.strerror or exc}") from None


def refresh_list(text: str) -> list[float | None]:
    """An argparse ``type`` for comma-separated refresh periods (``never,1h,10m``), each
    once, in the order given (seconds; None for ``never``)."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts:
        raise argparse.ArgumentTypeError(f"expected comma-separated periods, got {text!r}")
    try:
        periods = [parse_refresh(p) for p in parts]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if len(set(periods)) != len(periods):
        raise argparse.ArgumentTypeError(f"a period is given twice in {text!r}")
    return periods


def refresh_period(text: str) -> list[float | None]:
    """An argparse ``type`` for one refresh period, as a one-item list (seconds; None for
    ``never``) so that ``never`` differs from the flag's absence."""
    try:
        return [parse_refresh(text)]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
