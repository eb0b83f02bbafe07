"""Streaming commands: ``produce``, ``consume``, ``report``."""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from streamrec.cli import render
from streamrec.cli.clock_flags import clock_from_args
from streamrec.cli.exits import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, UsageError
from streamrec.config import Settings
from streamrec.stopping import reload_on_sighup, stop_on_signals

if TYPE_CHECKING:
    from streamrec.consumer.main import MetricsPortError
    from streamrec.producer.file_source import FileSessions
    from streamrec.producer.sources import ReplaySessions


def produce(args: argparse.Namespace, settings: Settings) -> int:
    """Replay sessions as click events, each when its clock has it due; 1 when the broker did
    not acknowledge them all."""
    from dataclasses import replace

    from rich.console import Console

    from streamrec.clients import ensure_topics, wait_for_kafka
    from streamrec.producer.expected import expected_replay
    from streamrec.producer.file_source import FileSessions
    from streamrec.producer.replay import ClickProducer
    from streamrec.producer.sources import fitted_dwell, replay_sessions
    from streamrec.producer.timeline import check_clock
    from streamrec.progress import ProgressBoard, human_duration

    choice = clock_from_args(args)
    clock = choice.clock
    if choice.dwell_log is not None:
        clock = replace(clock, dwell=fitted_dwell(settings, choice.dwell_log))
    sessions: ReplaySessions | FileSessions
    if args.sessions_file is not None:  # streamed: never loaded
        sessions = FileSessions(args.sessions_file, args.sessions)
        check_clock(sessions, clock)
        first_ids = sessions.first_ids(STATE_SAMPLE)
    else:
        sessions = replay_sessions(settings, not args.all_sessions, args.sessions)
        check_clock(sessions, clock)
        first_ids = [sessions.corpus.session_ids[i] for i in sessions.indices[:STATE_SAMPLE]]
    ensure_topics(settings, wait_for_kafka(settings, on_wait=render.notice))
    warn_if_already_applied(settings, first_ids)
    producer = ClickProducer(settings)
    expected = expected_replay(
        sessions, clock, choice.rate, choice.concurrency, settings.seed, args.rounds, args.limit
    )
    console = Console(stderr=True)
    if clock.kind != "flat" or clock.profile.name != "flat":
        render.notice(clock.describe(choice.rate))
    if isinstance(sessions, FileSessions):
        render.notice(
            f"replaying {sessions.count():,} sessions of {sessions.path}, read as they are "
            f"sent ({choice.concurrency:,} open at once)"
        )
    elif expected.schedule_s is not None or expected.events == 0:
        render.notice(expected.describe())
    with (
        stop_on_signals() as stop,
        ProgressBoard(console, enabled=not args.no_progress) as board,
    ):
        task = board.add("producing", expected.events or None)
        started = time.monotonic()

        def show(sent: int, _total: int) -> None:
            elapsed = max(time.monotonic() - started, 1e-6)
            lag = producer.last_lag
            late = "" if lag is None else f", {lag * 1000:,.1f} ms behind schedule"
            eta = expected.eta_s(elapsed, lag)
            left = "" if eta is None else f", ETA {human_duration(eta)}"
            board.update(task, sent, info=f"{sent / elapsed:,.0f} ev/s{late}{left}")

        result = producer.replay(
            sessions,
            rate=choice.rate,
            concurrency=choice.concurrency,
            limit=args.limit,
            seed=settings.seed,
            progress=show,
            should_stop=stop,
            rounds=args.rounds,
            clock=clock,
        )
    print(
        f"sent {result.sent:,} events from {result.sessions:,} sessions in "
        f"{result.seconds:.1f}s ({result.events_per_second:,.0f} ev/s acknowledged)"
    )
    if result.pacing is not None:
        print(result.pacing.describe())
    if result.failed:
        detail = f" (last error: {result.last_error})" if result.last_error else ""
        render.error(
            f"{result.failed:,} of {result.sent:,} events were not acknowledged by the "
            f"broker{detail}"
        )
        return EXIT_FAILED
    return EXIT_INTERRUPTED if stop.signum == signal.SIGINT else EXIT_OK


STATE_SAMPLE = 300  # the first sessions to send whose state produce looks for in Redis


def reset_command(namespace: str) -> str:
    """The ``streamrec reset`` that starts ``namespace`` over."""
    return "streamrec reset" + (f" --namespace {namespace}" if namespace else "")


def warn_if_already_applied(settings: Settings, ids: list[str]) -> None:
    """Warn (one line) when Redis already holds state for some of ``ids``, the first sessions
    to send: a consumer would count their events as duplicates. Silent when Redis does not
    answer at once (producing needs only Kafka)."""
    from streamrec.contract.names import Names
    from streamrec.namespace_data import held_sessions, redis_if_reachable

    client = redis_if_reachable(settings)
    if client is None:
        return
    held = held_sessions(client, Names(settings.namespace), ids)
    if held:
        render.warning(
            f"Redis already holds state for {held:,} of the first {len(ids):,} sessions to "
            "send: their events will count as duplicates, not be scored again; to start "
            f"over, stop the consumers and run `{reset_command(settings.namespace)}`"
        )


def missing_model(settings: Settings) -> str:
    """Why the configured checkpoint cannot be served, and how to get one."""
    path = settings.model_path
    message = (
        f"no checkpoint at {path}; train one with `streamrec train --out {path}` (the full recipe)"
    )
    from streamrec.pipeline.models import quick_model_path

    quick = quick_model_path(settings)
    if quick.is_file() and quick != path:
        message += f", or serve the quick model the demo trained: --model {quick}"
    return message


def metrics_port_message(exc: MetricsPortError) -> str:
    """What to do when the metrics endpoint cannot listen: another port, or any free one."""
    if exc.in_use:
        return (
            f"metrics port {exc.port} on {exc.host} is already in use (another consumer?); "
            "give this one another with --metrics-port PORT, or --metrics-port 0 for any "
            "free port"
        )
    return f"{exc} (--metrics-host {exc.host}, --metrics-port {exc.port})"


def consume(_args: argparse.Namespace, settings: Settings) -> int:
    """Run one consumer-group member until SIGTERM; SIGHUP reloads its model."""
    if not settings.follow_dir and not settings.model_path.is_file():
        raise UsageError(missing_model(settings))
    if settings.follow_dir and settings.split_traffic:
        raise UsageError(
            "--follow serves every session from the followed versions; an A/B split "
            "(--split-traffic) beside them is not supported: drop --split-traffic to score "
            "--shadow-model as a shadow"
        )
    if settings.shadow_model and not Path(settings.shadow_model).is_file():
        raise UsageError(f"no checkpoint at {settings.shadow_model} (--shadow-model)")
    # first: a SIGTERM while torch imports or the model loads then ends the process cleanly
    with stop_on_signals() as stop, reload_on_sighup() as reload:
        import logging

        from streamrec.consumer.arms import IncompatibleModels
        from streamrec.consumer.follow import FollowError
        from streamrec.consumer.main import MetricsPortError, run_consumer

        logging.basicConfig(
            level=settings.log_level,
            stream=sys.stderr,
            format="%(asctime)s %(levelname)s %(name)s[%(process)d] %(message)s",
        )
        try:
            run_consumer(settings, stop, reload.take)
        except IncompatibleModels as exc:
            raise UsageError(f"--shadow-model: {exc}") from None
        except MetricsPortError as exc:
            raise UsageError(metrics_port_message(exc)) from None
        except FollowError as exc:
            raise UsageError(f"--follow: {exc}") from None
    return EXIT_OK


def report(args: argparse.Namespace, settings: Settings) -> int:
    """Print the exact online totals kept in Redis."""
    from streamrec.clients import wait_for_redis
    from streamrec.consumer.catalog_check import FIRST_EVENTS, MOSTLY_UNKNOWN
    from streamrec.consumer.totals import read_totals
    from streamrec.contract.names import Names

    client = wait_for_redis(settings, on_wait=render.notice)
    totals = read_totals(client, Names(settings.namespace)).report()
    ev = totals["events"]
    heading = (
        f"events: {ev['applied']:,} applied, {ev['unknown_item']:,} unknown item, "
        f"{ev['duplicate']:,} duplicate, {ev['gap']:,} gap, {ev['invalid']:,} invalid"
    ) + (f", {ev['stale']:,} served stale (--follow)" if ev["stale"] else "")
    render.metrics_report(totals, heading, args.json)
    scorable = ev["applied"] + ev["unknown_item"]
    if scorable >= FIRST_EVENTS and ev["unknown_item"] > MOSTLY_UNKNOWN * scorable:
        render.warning(
            f"{ev['unknown_item'] / scorable:.0%} of the events clicked items outside the "
            "served model's catalog (unknown item, not scored): the model was trained on "
            "other data than the stream carries"
        )
    if not args.json and len(totals["models"]) > 1:
        print("\nper model (primary: the served one; shadow, or the A/B arm secondary):")
        render.print_lines(render.metric_table(list(totals["models"].items())))
    return EXIT_OK
