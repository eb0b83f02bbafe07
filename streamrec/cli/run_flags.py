"""The flags of one run that are not settings (``--rate``, ``--sessions``, ``--json``, ...).

One function per command adds them; their bounds use ``validators.number``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from streamrec.cli.clock_flags import DEFAULT_CONCURRENCY, add_clock_flags, add_load_clock_flags
from streamrec.cli.validators import name_list, number, number_list, refresh_list, refresh_period
from streamrec.config import ARCHITECTURES, BASELINES, Settings
from streamrec.model.data.parameters import HISTORIES, NEW_ITEMS, VERSION_TIMES

DEFAULT_LOAD_STEPS = (1000.0, 2000.0, 5000.0, 10000.0, 20000.0)
DEFAULT_LOAD_RATE = 1000.0
DEFAULT_STEP_SECONDS = 20.0
DEFAULT_SATURATION_FRACTIONS = (0.5, 0.8)


def saturation_fractions(text: str) -> list[float]:
    """``--saturation-fractions``: comma-separated fractions in (0, 1], or ``none``."""
    if text.strip().lower() == "none":
        return []
    return number_list(number(float, above=0, max=1))(text)


AS_FAST_AS_POSSIBLE = "events per second; 0 = as fast as possible (default)"


def no_flags(_p: argparse.ArgumentParser, _defaults: Settings) -> None:
    """A command whose every flag is a setting (``consume``)."""


def generate_flags(p: argparse.ArgumentParser, _defaults: Settings) -> None:
    """``generate``: where the sessions go."""
    p.add_argument("--out", default="-", help="output file, '-' for stdout (default: -)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (with --out)")


def train_flags(p: argparse.ArgumentParser, defaults: Settings) -> None:
    """``train``: the checkpoint path and the one-shot switches."""
    p.add_argument(
        "--out",
        type=Path,
        metavar="PATH",
        help=f"checkpoint path (default: the --model setting, {defaults.model_path}; "
        "env STREAMREC_MODEL_PATH)",
    )
    p.add_argument(
        "--skip-if-exists",
        action="store_true",
        help="do nothing when the checkpoint already exists (for one-shot jobs)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def evaluate_flags(p: argparse.ArgumentParser, _defaults: Settings) -> None:
    """``evaluate``: what to evaluate (a checkpoint or a baseline) and the output form."""
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--model", type=Path, metavar="PATH", help="checkpoint to evaluate")
    what.add_argument("--baseline", choices=BASELINES, help="baseline to evaluate")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    _stream_flags(p, many=False)


def _stream_flags(p: argparse.ArgumentParser, many: bool) -> None:
    """``--refresh`` and how the prequential evaluation runs (``compare``, ``evaluate``)."""
    g = p.add_argument_group("learning from the stream (prequential evaluation)")
    g.add_argument(
        "--refresh",
        metavar="PERIODS" if many else "PERIOD",
        type=refresh_list if many else refresh_period,
        help=("comma-separated refresh periods, e.g. never,1d,1h,10m" if many else "a refresh "
              "period, e.g. 10m, 1h, never") + ": score on the test part's clicks in time order, "
        "the model updated at every t0 + k x PERIOD with every click before it (units s, m, "
        "h, d); default: the classic frozen protocol",
    )  # fmt: skip
    g.add_argument(
        "--version-time", choices=VERSION_TIMES, default="target",
        help="the time that picks a prediction's version: the predicted click's (target, the "
        "data/globo-news yardstick) or the last prefix click's (served, what a live consumer "
        "can do) (default: %(default)s)",
    )  # fmt: skip
    g.add_argument(
        "--new-items", choices=NEW_ITEMS, default="keep",
        help="test clicks on items the training log lacks: keep them (a miss until a version "
        "learns the item) or drop them, then sessions shorter than 2 (default: %(default)s)",
    )  # fmt: skip
    g.add_argument(
        "--history", choices=HISTORIES, default="strict",
        help="what version 0 learns: the training clicks before the first test click (strict; "
        "later clicks of training sessions are streamed) or the whole training log (whole, "
        "as data/globo-news's yardsticks) (default: %(default)s)",
    )  # fmt: skip


def compare_flags(p: argparse.ArgumentParser, defaults: Settings) -> None:
    """``compare``: which models, the test log, where the results go."""
    choices = (*ARCHITECTURES, "category-popularity", "oracle")
    p.add_argument(
        "--models",
        metavar="NAME,...",
        type=name_list(choices),
        default=list(ARCHITECTURES),
        help=f"comma-separated models from {', '.join(choices)} (category-popularity, "
        f"oracle: generated data only) (default: {','.join(ARCHITECTURES)})",
    )
    p.add_argument(
        "--test-csv",
        metavar="PATH",
        help="a later log to score, in --format (then the whole --from-csv log trains: "
        "--split none); default: the held-out side of --split",
    )
    p.add_argument(
        "--out-dir",
        type=Path,
        metavar="PATH",
        help="checkpoints, compare.json, compare.md and compare.png (default: "
        f"{defaults.artifacts}/compare)",
    )
    p.add_argument("--json", action="store_true", help="last stdout line is one JSON object")
    p.add_argument("--no-progress", action="store_true", help="no progress display")
    _stream_flags(p, many=True)


def explain_flags(p: argparse.ArgumentParser, defaults: Settings) -> None:
    """``explain``: the checkpoint, where the results go, the output form."""
    p.add_argument(
        "--model", type=Path, metavar="PATH", required=True,
        help="checkpoint to explain (lstm-attn, narm or sasrec)",
    )  # fmt: skip
    p.add_argument(
        "--out-dir",
        type=Path,
        metavar="PATH",
        help=f"where explain.json and explain.png go (default: {defaults.artifacts}/explain)",
    )
    p.add_argument("--json", action="store_true", help="last stdout line is one JSON object")
    p.add_argument("--no-progress", action="store_true", help="no progress display")


def _number(
    p: argparse.ArgumentParser | argparse._ArgumentGroup,
    flag: str,
    kind: type[int] | type[float],
    default: float | None,
    help: str,
    metavar: str = "N",
    **bounds: float,
) -> None:
    """A numeric flag whose bounds are checked as it is parsed (``validators.number``)."""
    p.add_argument(flag, metavar=metavar, type=number(kind, **bounds), default=default, help=help)


def produce_flags(p: argparse.ArgumentParser, _defaults: Settings) -> None:
    """``produce``: which sessions, how fast, how many times."""
    g = p.add_argument_group("replay")
    g.add_argument(
        "--all-sessions",
        action="store_true",
        help="replay every session, not only the held-out ones",
    )
    g.add_argument(
        "--sessions-file",
        type=Path,
        metavar="PATH",
        help="replay this sessions file (`streamrec generate --out PATH`), read a line at a "
        "time as slots open (flat clock), so files of millions of sessions replay in constant "
        "memory; every session of it, in file order (default: generate the sessions)",
    )
    _number(g, "--sessions", int, 0, "replay at most this many sessions; 0 = all (default)", min=0)
    _number(g, "--limit", int, 0, "stop after this many events; 0 = no limit (default)", min=0)
    _number(
        g, "--rounds", int, 1, "replay the sessions this many times, each round as new session "
        "ids; 0 = until SIGTERM (default: %(default)s)", min=0,
    )  # fmt: skip
    g.add_argument("--no-progress", action="store_true", help="no progress display")
    add_clock_flags(p)


def services_flags(p: argparse.ArgumentParser, _defaults: Settings) -> None:
    """``services``: the action, the ports, the output form."""
    p.add_argument(
        "action",
        choices=["up", "down", "status"],
        help="start the servers, stop them, or show whether they run",
    )
    for server, setting in (("kafka", "--kafka-bootstrap"), ("redis", "--redis-url")):
        _number(
            p, f"--{server}-port", int, None,
            f"{'broker' if server == 'kafka' else 'Valkey'} port (default: the port of {setting})",
            metavar="PORT", min=1, max=65535,
        )  # fmt: skip
    p.add_argument("--json", action="store_true", help="print status as JSON")


def reset_flags(p: argparse.ArgumentParser, _defaults: Settings) -> None:
    """``reset``: whether to ask first."""
    p.add_argument(
        "--yes", action="store_true", help="delete without asking (needed when stdin is not a "
        "terminal)",
    )  # fmt: skip


def report_flags(p: argparse.ArgumentParser, _defaults: Settings) -> None:
    """``report``: the output form."""
    p.add_argument("--json", action="store_true", help="print one JSON object")


def demo_flags(p: argparse.ArgumentParser, defaults: Settings) -> None:
    """``demo``: how much to replay, how fast, with how many consumers, where the plot goes."""
    _number(
        p, "--sessions", int, 2000, "held-out sessions to replay, the first ones (under "
        "--scenario: half before the drift's moment, half after) (default: %(default)s)", min=1,
    )  # fmt: skip
    _number(p, "--consumers", int, 2, "consumer processes (default: %(default)s)", min=1)
    _number(p, "--rate", float, 0.0, AS_FAST_AS_POSSIBLE, min=0)
    _number(
        p, "--concurrency", int, DEFAULT_CONCURRENCY,
        "sessions open at once, their clicks interleaved (default: %(default)s)", min=1,
    )  # fmt: skip
    _over_time_flags(
        p,
        "window of the online-metrics-over-time plot in seconds; 0 = about 30 windows over "
        "the replay",
        f"where online-over-time.png goes (default: {defaults.artifacts}/demo)",
    )
    p.add_argument(
        "--json", action="store_true", help="last stdout line is one JSON object with the summary"
    )
    g = p.add_argument_group("learning from the stream (--learn)")
    g.add_argument(
        "--learn", action="store_true",
        help="start a learner (`streamrec learn`) whose versions the consumers follow (the "
        "learning arm), with the frozen model scoring beside them as a shadow (--shadow-model; "
        "default: the model the learner starts from); the summary has both arms' online and "
        "offline figures. Without --model, a markov model is fitted on the training part",
    )  # fmt: skip
    g.add_argument(
        "--refresh", metavar="PERIOD", type=refresh_period,
        help="with --learn: a version every PERIOD of the stream's own time (units s, m, h, "
        "d): the log's time under --clock replay (divided by --speedup), else seconds of the "
        "replay (e.g. 2s on generated data)",
    )  # fmt: skip
    g.add_argument(
        "--clock", choices=("flat", "replay"),
        help="'flat': sessions interleaved --concurrency at a time at --rate (default); "
        "'replay': a click log's own times (--from-csv) divided by --speedup",
    )  # fmt: skip
    _number(g, "--speedup", float, None, "replay clock: time runs this many times faster than "
            "the log's (default: 1)", above=0)  # fmt: skip


def _over_time_flags(p: argparse.ArgumentParser, window_help: str, out_help: str) -> None:
    """``--window-seconds`` and ``--out-dir`` of the runs that write over-time plots."""
    _number(p, "--window-seconds", float, 0.0, window_help + " (default: %(default)s)",
            metavar="SECONDS", min=0)  # fmt: skip
    p.add_argument("--out-dir", type=Path, metavar="PATH", help=out_help)


def loadtest_flags(p: argparse.ArgumentParser, defaults: Settings) -> None:
    """``loadtest``: the step plan or a clock-driven run, consumers, windows, the report."""
    _number(p, "--consumers", int, 1, "consumer processes (default: %(default)s)", min=1)
    _number(
        p, "--rate", float, None, f"events/s of --profile fixed (default: "
        f"{DEFAULT_LOAD_RATE:g}), or of --clock flat (required there)", above=0,
    )  # fmt: skip
    _over_time_flags(
        p,
        "window of the over-time report and plots (online Hit@10 and MRR@20; with --clock "
        "also rates, latency and lag) in seconds; 0 = about 30 windows over the run",
        "where loadtest.json, loadtest.png and online-over-time.png go (default: "
        f"{defaults.artifacts}/loadtest)",
    )
    p.add_argument(
        "--json", action="store_true", help="last stdout line is the report as one JSON object"
    )
    g = p.add_argument_group(
        "step plan (the default: rising rates until the consumers fall behind)"
    )
    g.add_argument(
        "--profile",
        choices=["steps", "fixed"],
        help="'steps': --steps rates in turn; 'fixed': --rate only (default: steps)",
    )
    g.add_argument(
        "--steps",
        metavar="RATES",
        type=number_list(number(float, above=0)),
        help="comma-separated events/s for the steps profile (default: "
        + ",".join(f"{r:g}" for r in DEFAULT_LOAD_STEPS)
        + ")",
    )
    _number(g, "--step-seconds", float, None, f"seconds per step (default: "
            f"{DEFAULT_STEP_SECONDS:g})", metavar="SECONDS", above=0)  # fmt: skip
    g.add_argument(
        "--saturation-fractions",
        metavar="FRACTIONS",
        type=saturation_fractions,
        help="after steps that find the saturation, offer these fractions of it, one step "
        "each, and report their p99 (a figure that travels between machines; default: "
        + ",".join(f"{f:g}" for f in DEFAULT_SATURATION_FRACTIONS)
        + "; 'none' skips them)",
    )
    _number(g, "--saturation-repeats", int, None, "runs of each fraction step, each on fresh "
            "servers; the report gives their median p99 and its range (a single step's p99 near "
            "saturation varies between runs; default: 1)", min=1)  # fmt: skip
    add_load_clock_flags(p)
