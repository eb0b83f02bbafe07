"""``produce``'s clock flags (``--clock``, ``--speedup``, ``--profile``, ...) and the one check of
how they combine.

Each flag's own bounds are checked as it is parsed (``validators.number``); the flags default
to None so that ``clock_from_args`` knows what was given and refuses, in one line, a flag
that the chosen clock or profile would ignore.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from streamrec.cli.exits import UsageError
from streamrec.cli.validators import number
from streamrec.traffic.clock import CLOCKS, DEFAULT_SESSIONS_PER_S, ClockSpec
from streamrec.traffic.dwell import DEFAULT_DWELL_MEDIAN_S, DEFAULT_DWELL_SIGMA, LogNormalDwell
from streamrec.traffic.profiles import (
    DEFAULT_BURST_FACTOR,
    DEFAULT_BURST_SECONDS,
    DEFAULT_BURST_START_S,
    DEFAULT_DAY_SECONDS,
    DIURNAL_AMPLITUDE,
    PROFILES,
    make_profile,
)

DEFAULT_RATE = 0.0
DEFAULT_CONCURRENCY = 200
FLAT_ONLY = ("rate", "concurrency")
REPLAY_OR_POISSON = ("speedup",)
POISSON_ONLY = ("sessions_per_s", "dwell_median", "dwell_sigma", "dwell_from_log")
PROFILE_PARAMETERS = {
    "day_seconds": "diurnal",
    "burst_start": "burst",
    "burst_seconds": "burst",
    "burst_factor": "burst",
}


def _flag(dest: str) -> str:
    return "--" + dest.replace("_", "-")


def add_clock_flags(p: argparse.ArgumentParser) -> None:
    """``produce``'s pacing flags: the flat clock's rate and concurrency, and the clocks."""
    g = p.add_argument_group("clock (when each click is sent)")

    def num(
        flag: str, kind: type[int] | type[float], help: str, metavar: str, **bounds: float
    ) -> None:
        g.add_argument(flag, metavar=metavar, type=number(kind, **bounds), help=help)

    g.add_argument(
        "--clock",
        choices=CLOCKS,
        help="'flat': sessions interleaved --concurrency at a time, as fast as possible or at "
        "--rate; 'replay': a click log's own inter-event times, divided by --speedup; "
        "'poisson': sessions start as a Poisson process at --sessions-per-s, log-normal "
        "dwell times between clicks (default: flat)",
    )
    num("--rate", float, "flat clock: events per second; 0 = as fast as possible (default)",
        "N", min=0)  # fmt: skip
    num("--concurrency", int, f"flat clock: sessions open at once, interleaved (default: "
        f"{DEFAULT_CONCURRENCY})", "N", min=1)  # fmt: skip
    num("--speedup", float, "replay and poisson clocks: time runs this many times faster "
        "than the log's (replay) or the dwell times' (poisson); 1 = real time (default: 1)",
        "X", above=0)  # fmt: skip
    num("--sessions-per-s", float, "poisson clock: mean session starts per second (default: "
        f"{DEFAULT_SESSIONS_PER_S:g})", "R", above=0)  # fmt: skip
    num("--dwell-median", float, "poisson clock: median seconds between a session's clicks "
        f"(default: {DEFAULT_DWELL_MEDIAN_S:g}, fitted on YOOCHOOSE-100k)", "SECONDS",
        above=0)  # fmt: skip
    num("--dwell-sigma", float, "poisson clock: standard deviation of log dwell times "
        f"(default: {DEFAULT_DWELL_SIGMA:g})", "SIGMA", min=0)  # fmt: skip
    g.add_argument(
        "--dwell-from-log",
        metavar="PATH",
        help="poisson clock: fit the dwell times (log-normal) to this click log's gaps, read "
        "in --format",
    )
    g.add_argument(
        "--profile",
        choices=PROFILES,
        help="modulate the rate (--rate of the flat clock, --sessions-per-s of the poisson "
        f"clock): 'diurnal' a compressed day of --day-seconds ({1 - DIURNAL_AMPLITUDE:g}x at "
        f"night to {1 + DIURNAL_AMPLITUDE:g}x at noon), 'burst' a flash crowd (--burst-factor "
        "times the rate for --burst-seconds from --burst-start) (default: flat)",
    )
    num("--day-seconds", float, f"diurnal profile: seconds per day (default: "
        f"{DEFAULT_DAY_SECONDS:g})", "SECONDS", above=0)  # fmt: skip
    num("--burst-start", float, f"burst profile: seconds after the start (default: "
        f"{DEFAULT_BURST_START_S:g})", "SECONDS", min=0)  # fmt: skip
    num("--burst-seconds", float, f"burst profile: how long it lasts (default: "
        f"{DEFAULT_BURST_SECONDS:g})", "SECONDS", above=0)  # fmt: skip
    num("--burst-factor", float, f"burst profile: rate multiplier (default: "
        f"{DEFAULT_BURST_FACTOR:g})", "K", above=0)  # fmt: skip


@dataclass(frozen=True)
class ClockChoice:
    """What the clock flags asked for: the clock, and the flat clock's rate and concurrency.

    ``dwell_log``: a log to fit the poisson clock's dwell times to (read by the command).
    """

    clock: ClockSpec
    rate: float = DEFAULT_RATE
    concurrency: int = DEFAULT_CONCURRENCY
    dwell_log: str | None = None


def clock_from_args(args: argparse.Namespace) -> ClockChoice:
    """The clock the flags describe; ``UsageError`` for a flag the clock would ignore."""
    kind = args.clock or "flat"
    profile = args.profile or "flat"
    given = {dest for dest in (*FLAT_ONLY, *REPLAY_OR_POISSON, *POISSON_ONLY, *PROFILE_PARAMETERS)
             if getattr(args, dest) is not None}  # fmt: skip
    allowed = {"flat": FLAT_ONLY, "replay": REPLAY_OR_POISSON,
               "poisson": (*REPLAY_OR_POISSON, *POISSON_ONLY)}[kind]  # fmt: skip
    for dest in sorted(given - set(allowed) - set(PROFILE_PARAMETERS)):
        owner = "flat" if dest in FLAT_ONLY else "poisson" if dest in POISSON_ONLY else "replay"
        what = "the replay and poisson clocks" if dest in REPLAY_OR_POISSON else f"--clock {owner}"
        raise UsageError(f"{_flag(dest)} applies to {what}, not --clock {kind}")
    for dest, needs in PROFILE_PARAMETERS.items():
        if dest in given and profile != needs:
            raise UsageError(f"{_flag(dest)} goes with --profile {needs}")
    if args.dwell_from_log is not None and {"dwell_median", "dwell_sigma"} & given:
        raise UsageError("--dwell-from-log fits the dwell times: leave out --dwell-median/-sigma")
    rate = args.rate if args.rate is not None else DEFAULT_RATE
    if profile != "flat" and kind == "replay":
        raise UsageError("--profile modulates a rate; the replay clock keeps the log's own times")
    if profile != "flat" and kind == "flat" and rate <= 0:
        raise UsageError(
            f"--profile {profile} modulates a rate: give the flat clock a --rate, or use "
            "--clock poisson"
        )
    chosen = make_profile(
        profile,
        **{k: getattr(args, k) for k in PROFILE_PARAMETERS if getattr(args, k) is not None},
    )
    dwell = LogNormalDwell(
        args.dwell_median if args.dwell_median is not None else DEFAULT_DWELL_MEDIAN_S,
        args.dwell_sigma if args.dwell_sigma is not None else DEFAULT_DWELL_SIGMA,
    )
    clock = ClockSpec(
        kind,
        speedup=args.speedup if args.speedup is not None else 1.0,
        sessions_per_s=(
            args.sessions_per_s if args.sessions_per_s is not None else DEFAULT_SESSIONS_PER_S
        ),
        profile=chosen,
        dwell=dwell,
    )
    concurrency = args.concurrency if args.concurrency is not None else DEFAULT_CONCURRENCY
    return ClockChoice(clock, rate, concurrency, args.dwell_from_log)
