"""The clock flags of ``produce`` (``--clock``, ``--speedup``, ``--profile``, ...) and of
``loadtest``'s clock-driven run, and the one check of how they combine.

Each flag's own bounds are checked as it is parsed (``validators.number``); the flags default
to None so that ``clock_from_args`` knows what was given and refuses, in one line, a flag
that the chosen clock or profile would ignore. ``loadtest`` spells the rate profile
``--rate-profile`` (its ``--profile`` is its step plan), has its own ``--rate`` and offers the
flat and poisson clocks only.
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
PROFILE_FLAG = "--profile"
# a load test's --profile names its step plan, so its rate profile is --rate-profile
LOAD_PROFILE_FLAG = "--rate-profile"
LOAD_CLOCKS = ("flat", "poisson")  # a load test replays generated sessions: no log times
DEFAULT_LOAD_DURATION_S = 60.0
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


def _num(
    g: argparse._ArgumentGroup,
    flag: str,
    kind: type[int] | type[float],
    help: str,
    metavar: str,
    **bounds: float,
) -> None:
    g.add_argument(flag, metavar=metavar, type=number(kind, **bounds), help=help)


def add_clock_flags(p: argparse.ArgumentParser) -> None:
    """``produce``'s pacing flags: the flat clock's rate and concurrency, and the clocks."""
    g = p.add_argument_group("clock (when each click is sent)")
    g.add_argument(
        "--clock",
        choices=CLOCKS,
        help="'flat': sessions interleaved --concurrency at a time, as fast as possible or at "
        "--rate; 'replay': a click log's own inter-event times, divided by --speedup; "
        "'poisson': sessions start as a Poisson process at --sessions-per-s, log-normal "
        "dwell times between clicks (default: flat)",
    )
    _num(g, "--rate", float, "flat clock: events per second; 0 = as fast as possible (default)",
         "N", min=0)  # fmt: skip
    _num(g, "--concurrency", int, f"flat clock: sessions open at once, interleaved (default: "
         f"{DEFAULT_CONCURRENCY})", "N", min=1)  # fmt: skip
    _timing_flags(g, "replay and poisson clocks: time runs this many times faster than the "
                  "log's (replay) or the dwell times' (poisson)")  # fmt: skip
    g.add_argument(
        "--dwell-from-log",
        metavar="PATH",
        help="poisson clock: fit the dwell times (log-normal) to this click log's gaps, read "
        "in --format",
    )
    _profile_flags(g, PROFILE_FLAG)


def add_load_clock_flags(p: argparse.ArgumentParser) -> None:
    """``loadtest``'s clock-driven run: the clock, how long, its timing and its rate profile
    (the flat clock's rate is ``loadtest``'s own ``--rate``)."""
    g = p.add_argument_group("clock-driven run (instead of steps)")
    g.add_argument(
        "--clock",
        choices=LOAD_CLOCKS,
        help="offer held-out sessions on this clock for --duration seconds instead of steps, "
        "then wait until the consumers have drained them, and report per time window: "
        "offered, sent and achieved events/s, latency p50/p99, lag, online Hit@10 and "
        "MRR@20. 'flat': --rate events/s; 'poisson': sessions start as a Poisson process at "
        "--sessions-per-s, log-normal dwell times between clicks",
    )
    _num(g, "--duration", float, f"seconds of the clock's schedule to send (default: "
         f"{DEFAULT_LOAD_DURATION_S:g})", "SECONDS", above=0)  # fmt: skip
    _timing_flags(g, "poisson clock: the dwell times run this many times faster")
    _profile_flags(g, LOAD_PROFILE_FLAG)


def _timing_flags(g: argparse._ArgumentGroup, speedup_help: str) -> None:
    _num(g, "--speedup", float, f"{speedup_help}; 1 = real time (default: 1)", "X",
         above=0)  # fmt: skip
    _num(g, "--sessions-per-s", float, "poisson clock: mean session starts per second (default: "
         f"{DEFAULT_SESSIONS_PER_S:g})", "R", above=0)  # fmt: skip
    _num(g, "--dwell-median", float, "poisson clock: median seconds between a session's clicks "
         f"(default: {DEFAULT_DWELL_MEDIAN_S:g}, fitted on YOOCHOOSE-100k)", "SECONDS",
         above=0)  # fmt: skip
    _num(g, "--dwell-sigma", float, "poisson clock: standard deviation of log dwell times "
         f"(default: {DEFAULT_DWELL_SIGMA:g})", "SIGMA", min=0)  # fmt: skip


def _profile_flags(g: argparse._ArgumentGroup, flag: str) -> None:
    g.add_argument(
        flag,
        dest="rate_profile",
        choices=PROFILES,
        help="modulate the rate (--rate of the flat clock, --sessions-per-s of the poisson "
        f"clock): 'diurnal' a compressed day of --day-seconds ({1 - DIURNAL_AMPLITUDE:g}x at "
        f"night to {1 + DIURNAL_AMPLITUDE:g}x at noon), 'burst' a flash crowd (--burst-factor "
        "times the rate for --burst-seconds from --burst-start) (default: flat)",
    )
    _num(g, "--day-seconds", float, f"diurnal profile: seconds per day (default: "
         f"{DEFAULT_DAY_SECONDS:g})", "SECONDS", above=0)  # fmt: skip
    _num(g, "--burst-start", float, f"burst profile: seconds after the start (default: "
         f"{DEFAULT_BURST_START_S:g})", "SECONDS", min=0)  # fmt: skip
    _num(g, "--burst-seconds", float, f"burst profile: how long it lasts (default: "
         f"{DEFAULT_BURST_SECONDS:g})", "SECONDS", above=0)  # fmt: skip
    _num(g, "--burst-factor", float, f"burst profile: rate multiplier (default: "
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


def clock_from_args(args: argparse.Namespace, profile_flag: str = PROFILE_FLAG) -> ClockChoice:
    """The clock the flags describe; ``UsageError`` for a flag the clock would ignore.
    ``profile_flag``: how the command spells the rate profile's flag."""
    kind = args.clock or "flat"
    profile = args.rate_profile or "flat"
    given = {dest for dest in (*FLAT_ONLY, *REPLAY_OR_POISSON, *POISSON_ONLY, *PROFILE_PARAMETERS)
             if getattr(args, dest, None) is not None}  # fmt: skip
    allowed = {"flat": FLAT_ONLY, "replay": REPLAY_OR_POISSON,
               "poisson": (*REPLAY_OR_POISSON, *POISSON_ONLY)}[kind]  # fmt: skip
    for dest in sorted(given - set(allowed) - set(PROFILE_PARAMETERS)):
        owner = "flat" if dest in FLAT_ONLY else "poisson" if dest in POISSON_ONLY else "replay"
        what = "the replay and poisson clocks" if dest in REPLAY_OR_POISSON else f"--clock {owner}"
        raise UsageError(f"{_flag(dest)} applies to {what}, not --clock {kind}")
    for dest, needs in PROFILE_PARAMETERS.items():
        if dest in given and profile != needs:
            raise UsageError(f"{_flag(dest)} goes with {profile_flag} {needs}")
    dwell_log = getattr(args, "dwell_from_log", None)
    if dwell_log is not None and {"dwell_median", "dwell_sigma"} & given:
        raise UsageError("--dwell-from-log fits the dwell times: leave out --dwell-median/-sigma")
    rate = args.rate if args.rate is not None else DEFAULT_RATE
    if profile != "flat" and kind == "replay":
        raise UsageError(
            f"{profile_flag} modulates a rate; the replay clock keeps the log's own times"
        )
    if profile != "flat" and kind == "flat" and rate <= 0:
        raise UsageError(
            f"{profile_flag} {profile} modulates a rate: give the flat clock a --rate, or use "
            "--clock poisson"
        )
    chosen = make_profile(
        profile, **{k: getattr(args, k) for k in PROFILE_PARAMETERS if k in given}
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
    concurrency = getattr(args, "concurrency", None) or DEFAULT_CONCURRENCY
    return ClockChoice(clock, rate, concurrency, dwell_log)
