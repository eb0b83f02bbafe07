"""Refresh periods of models that learn from the stream (issue 20): ``never``, ``10m``,
``1h``, ``1d``... parsed and named."""

from __future__ import annotations

import math

from streamrec.config import ConfigError

NEVER = "never"
_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_refresh(text: str) -> float | None:
    """A refresh period: ``never`` (None) or a positive number with a unit ``s``, ``m``,
    ``h`` or ``d`` (``10m`` -> 600.0); ``ValueError`` with a one-line reason otherwise."""
    value = text.strip().lower()
    if value == NEVER:
        return None
    number, unit = value[:-1], value[-1:]
    try:
        seconds = float(number) * _UNITS[unit]
    except (KeyError, ValueError):
        raise ConfigError(
            f"refresh {text!r} is not 'never' or a number with a unit s, m, h or d (e.g. 10m)"
        ) from None
    if not math.isfinite(seconds) or seconds <= 0:
        raise ConfigError(f"refresh {text!r} must be a positive period")
    return seconds


def refresh_label(seconds: float | None) -> str:
    """The short name of a refresh period (``never``, ``10m``, ``1h``, ``1d``, ``90s``)."""
    if seconds is None:
        return NEVER
    for unit in ("d", "h", "m"):
        count = seconds / _UNITS[unit]
        if count >= 1 and float(count).is_integer():
            return f"{int(count)}{unit}"
    return f"{seconds:g}s"
