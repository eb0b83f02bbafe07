"""``loadtest``'s plan from its flags: rates in steps, one fixed rate, or a clock-driven run,
and the one check of how its flags combine (``clock_flags`` checks the clock's own).

The flags default to None so that a flag the chosen plan would ignore is refused in one line.
It imports the pipeline: import it when the command runs, not to build the parser.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from streamrec.cli.clock_flags import (
    DEFAULT_LOAD_DURATION_S,
    LOAD_PROFILE_FLAG,
    PROFILE_PARAMETERS,
    clock_from_args,
)
from streamrec.cli.exits import UsageError
from streamrec.cli.run_flags import (
    DEFAULT_LOAD_RATE,
    DEFAULT_LOAD_STEPS,
    DEFAULT_SATURATION_FRACTIONS,
    DEFAULT_STEP_SECONDS,
)
from streamrec.pipeline.loadtest_clock import ClockPlan

STEP_PLAN = ("profile", "steps", "step_seconds", "saturation_fractions", "saturation_repeats")
CLOCK_RUN = (
    "duration", "speedup", "sessions_per_s", "dwell_median", "dwell_sigma", "rate_profile",
    *PROFILE_PARAMETERS,
)  # fmt: skip


@dataclass(frozen=True)
class StepPlan:
    """Offer each rate for ``step_seconds`` in turn (one rate: ``--profile fixed``)."""

    rates: list[float]
    step_seconds: float
    fractions: tuple[float, ...] = DEFAULT_SATURATION_FRACTIONS
    repeats: int = 1  # fresh-pipeline runs of each fraction step


def _flag(dest: str) -> str:
    return LOAD_PROFILE_FLAG if dest == "rate_profile" else "--" + dest.replace("_", "-")


def _given(args: argparse.Namespace, dests: tuple[str, ...]) -> list[str]:
    return [_flag(d) for d in dests if getattr(args, d) is not None]


def load_plan(args: argparse.Namespace) -> StepPlan | ClockPlan:
    """The plan the flags describe; ``UsageError`` for a flag it would ignore."""
    if args.clock is None:
        for flag in _given(args, CLOCK_RUN):
            raise UsageError(f"{flag} goes with --clock (a clock-driven run)")
        if (args.profile or "steps") == "fixed":
            if args.steps is not None:
                raise UsageError("--steps goes with --profile steps; --profile fixed offers --rate")
            rates = [args.rate if args.rate is not None else DEFAULT_LOAD_RATE]
        elif args.rate is not None:
            raise UsageError(
                "--rate goes with --profile fixed or --clock flat; --profile steps (the "
                "default) offers --steps"
            )
        else:
            rates = list(args.steps or DEFAULT_LOAD_STEPS)
        fractions = (
            DEFAULT_SATURATION_FRACTIONS
            if args.saturation_fractions is None
            else tuple(args.saturation_fractions)
        )
        return StepPlan(rates, args.step_seconds or DEFAULT_STEP_SECONDS, fractions,
                        args.saturation_repeats or 1)  # fmt: skip
    for flag in _given(args, STEP_PLAN):
        raise UsageError(f"{flag} belongs to the step plan; a --clock run lasts --duration seconds")
    choice = clock_from_args(args, LOAD_PROFILE_FLAG)
    if choice.clock.kind == "flat" and choice.rate <= 0:
        raise UsageError("--clock flat offers --rate events/s: give a --rate")
    return ClockPlan(choice.clock, choice.rate, args.duration or DEFAULT_LOAD_DURATION_S)
