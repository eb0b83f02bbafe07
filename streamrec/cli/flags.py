"""The settings flags: each ``Settings`` field a command exposes, declared once.

Every flag defaults to ``None``, so what was given on the command line is exactly what is
not ``None``; settings are the environment-aware defaults with those values applied
(``Settings.with_overrides``, which records them in ``settings.explicit`` and validates).
Help texts show the effective default, environment overrides included, and the variable.
Flag types only convert text; ``Settings.validate`` checks the values.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from streamrec.cli.setting_flag import (
    CLICK_LOG,
    CONSUMER,
    DATA,
    GROUP_ORDER,
    RUNTIME,
    SERVERS,
    TRAINING,
    SettingFlag,
    help_text,
)
from streamrec.cli.validators import number
from streamrec.config import (
    ARCHITECTURES,
    DEVICES,
    GENERATORS,
    LOG_FORMATS,
    LOG_LEVELS,
    SCENARIOS,
    SCORING_MODES,
    SPLITS,
    WINDOW_STARTS,
    Settings,
    setting_fields,
)
from streamrec.model.data.parameters import (
    ANCHOR_PROB,
    BEHAVIOR_PROBS_AFTER,
    FOLLOW_PROB,
    NEW_ITEM_SHARE,
    SUBTOPIC_SIZE,
)


def _flags(*flags: SettingFlag) -> dict[str, SettingFlag]:
    return {f.field: f for f in flags}


REGISTRY: dict[str, SettingFlag] = _flags(
    SettingFlag("seed", "generator, split and training seed", DATA),
    SettingFlag("users", "users (sessions before the length filter) to generate, 1..10M", DATA),
    SettingFlag(
        "items", "generated catalog size, 1..1M; categories scale with it (200 items each)", DATA
    ),
    SettingFlag(
        "generator",
        "how sessions are generated: 'seed' (the seed's sessions: category chain and "
        f"within-category popularity), 'series' (each item has a successor in its category "
        f"that the next click follows with probability {FOLLOW_PROB:g}), 'anchor' (the first "
        f"click fixes a sub-topic of about {SUBTOPIC_SIZE} items that each later click comes "
        f"from with probability {ANCHOR_PROB:g})",
        DATA,
        choices=GENERATORS,
    ),
    SettingFlag(
        "scenario",
        "drift on generated data at --drift-at: 'new-items' (a share of "
        f"{NEW_ITEM_SHARE:g} of the catalog appears only then), 'popularity-shift' "
        "(within-category popularity re-drawn), 'behaviour-mix' (explorer / deep-dive / "
        f"comparison shares become {'/'.join(f'{p:g}' for p in BEHAVIOR_PROBS_AFTER)}); "
        "training uses only the sessions before the moment",
        DATA,
        choices=SCENARIOS,
    ),
    SettingFlag("drift_at", "the drift's moment: share of the users generated before it", DATA),
    SettingFlag(
        "split",
        "'session': hold out 20% of whole sessions (honest); 'example': the seed's random "
        "split of prefix examples (leaks); 'time': hold out the sessions that start in a "
        "click log's last --test-days days; 'none': all of it (train on the whole log, "
        "evaluate or replay every session)",
        DATA,
        choices=SPLITS,
    ),
    SettingFlag(
        "csv_path",
        "read sessions from this click log (see --format); several files of one log "
        "(consecutive periods) are joined when given as PATH,PATH",
        CLICK_LOG,
        flag="--from-csv",
        metavar="PATH[,PATH]",
        default_note="generate sessions",
    ),
    SettingFlag(
        "log_format",
        "the log's format: 'csv' (the column flags below), 'session-rec' (tab-separated "
        "SessionId ItemId Time with a header: the prepared files of session-rec and GRU4Rec), "
        "'yoochoose' (RecSys Challenge 2015 clicks.dat), 'diginetica' (CIKM Cup 2016 "
        "train-item-views.csv), 'retailrocket' (events.csv, cut into sessions at gaps of "
        "--session-gap-minutes)",
        CLICK_LOG,
        flag="--format",
        choices=LOG_FORMATS,
    ),
    SettingFlag(
        "min_session_length",
        "drop training sessions shorter than N clicks; 0 = the format's default: 2 for "
        "yoochoose, diginetica and retailrocket (as GRU4Rec and session-rec prepare them), "
        "1 for session-rec and csv files (taken as prepared)",
        CLICK_LOG,
    ),
    SettingFlag(
        "min_item_support",
        "drop training clicks on items seen fewer than N times, then sessions left too "
        "short; 0 = the format's default: 5 for the raw public formats (the literature's), "
        "1 (keep every item) for session-rec and csv files",
        CLICK_LOG,
    ),
    SettingFlag(
        "session_gap_minutes",
        "retailrocket: a visitor's pause longer than this starts a new session",
        CLICK_LOG,
        metavar="MINUTES",
    ),
    SettingFlag(
        "test_days",
        "--split time: the sessions that start in the log's last N days are held out",
        CLICK_LOG,
        metavar="DAYS",
    ),
    SettingFlag(
        "validation_csv",
        "--split none: a later log in the same format for the per-epoch figures (mapped "
        "through the training catalog; clicks on unknown items removed)",
        CLICK_LOG,
        metavar="PATH",
    ),
    SettingFlag(
        "train_csv",
        "baselines: fit on this log and score the --from-csv one (same format)",
        CLICK_LOG,
        metavar="PATH",
        default_note="the training side of --split",
    ),
    SettingFlag("csv_separator", "field separator, one character", CLICK_LOG, metavar="CHAR"),
    SettingFlag(
        "csv_session_column",
        "session id column",
        CLICK_LOG,
        flag="--session-column",
        metavar="COLUMN",
    ),
    SettingFlag(
        "csv_item_column", "item id column", CLICK_LOG, flag="--item-column", metavar="COLUMN"
    ),
    SettingFlag(
        "csv_time_columns",
        "comma-separated columns to order each session by",
        CLICK_LOG,
        flag="--time-columns",
        metavar="COLUMNS",
    ),
    SettingFlag(
        "architecture",
        "the model to train: 'lstm-attn' (the seed's LSTM with attention pooling), 'markov' "
        "(first-order transition counts backed off to popularity), 'popularity', 'vsknn' "
        "(session kNN with position-decayed similarity, V-SKNN), 'gru4rec' (GRU4Rec, trained "
        "with its authors' RSC15 setting), 'narm' (NARM: GRU with attentive local encoder, Li "
        "et al. 2017), 'sasrec' (SASRec causal self-attention); every one is served by "
        "`streamrec consume`",
        TRAINING,
        choices=ARCHITECTURES,
    ),
    SettingFlag(
        "epochs",
        "epochs (neural models); 0 = the architecture's own: 20 for lstm-attn (the seed's "
        "recipe), 10 for gru4rec (its authors' RSC15 setting), 20 for narm, 10 for sasrec",
        TRAINING,
    ),
    SettingFlag(
        "batch_size",
        "batch size; 0 = the architecture's own: 256 lstm-attn, 32 gru4rec, 512 narm, 64 sasrec",
        TRAINING,
    ),
    SettingFlag(
        "learning_rate",
        "learning rate; 0 = the architecture's own: 1e-3 lstm-attn (Adam), 0.2 gru4rec "
        "(Adagrad with momentum), 1e-3 narm (Adam), 2e-3 sasrec (Adam)",
        TRAINING,
    ),
    SettingFlag(
        "window_start",
        "where the LSTM starts: 'zero' at each window's first click (the consumer then "
        "scores a click with one LSTM step), 'padding' runs it over the left padding as the "
        "seed does (the consumer recomputes every window)",
        TRAINING,
        choices=WINDOW_STARTS,
    ),
    SettingFlag(
        "max_train_sessions", "train on the first N training sessions only; 0 = all", TRAINING
    ),
    SettingFlag(
        "validation_sample",
        "validate each epoch on this many examples (quick models); 0 = all",
        TRAINING,
    ),
    SettingFlag("model_path", "checkpoint to serve", CONSUMER, flag="--model", metavar="PATH"),
    SettingFlag("group", "consumer group", CONSUMER, metavar="NAME"),
    SettingFlag(
        "metrics_port",
        "Prometheus /metrics port; 0 = any free port (the consumer logs the one it got)",
        CONSUMER,
        metavar="PORT",
    ),
    SettingFlag(
        "metrics_host",
        "address to serve /metrics on (0.0.0.0: every interface)",
        CONSUMER,
        metavar="HOST",
    ),
    SettingFlag(
        "session_ttl",
        "seconds a session's state lives after its last event",
        CONSUMER,
        metavar="SECONDS",
    ),
    SettingFlag("poll_batch", "most events per polled batch", CONSUMER),
    SettingFlag(
        "fetch_wait_ms",
        "longest the broker may hold a consumer's fetch (librdkafka fetch.wait.max.ms); the "
        "embedded broker holds every fetch this long, so it adds latency (more than the wait "
        "itself) and costs about 1000/N fetch requests a second per consumer; Apache Kafka "
        "answers as soon as enough data is there, so it can be raised there (e.g. 500) for "
        "fewer idle requests",
        CONSUMER,
        metavar="MS",
    ),
    SettingFlag(
        "scoring",
        "'auto' (default): incremental on CPU, full on CUDA (faster there, and exact); "
        "'incremental': one recurrent step per click from cached session state where the "
        "architecture allows it exactly (others fall back to full); 'full': recompute "
        "every window",
        CONSUMER,
        choices=SCORING_MODES,
    ),
    SettingFlag(
        "scorer_cache_mb",
        "memory budget in MiB of the incremental scorer's per-session LRU cache",
        CONSUMER,
    ),
    SettingFlag(
        "shadow_model",
        "a second checkpoint (same catalog and window length): scores every event too, its "
        "online metrics labelled model=shadow; only the primary's recommendations are written",
        CONSUMER,
        metavar="PATH",
    ),
    SettingFlag(
        "split_traffic",
        "serve this share of the sessions (0 < P < 1, by a stable hash of the session id) "
        "from --shadow-model instead (A/B): arms labelled model=primary and model=secondary; "
        "0 = off",
        CONSUMER,
        metavar="P",
    ),
    SettingFlag(
        "model_watch_interval",
        "seconds between checks of --model for a new checkpoint, swapped in without a "
        "restart (SIGHUP reloads at once); 0 = do not watch",
        CONSUMER,
        metavar="SECONDS",
    ),
    SettingFlag("max_message_bytes", "larger events go to the dead-letter topic", CONSUMER),
    SettingFlag(
        "kafka_bootstrap",
        "Kafka bootstrap servers",
        SERVERS,
        metavar="HOST:PORT[,...]",
        default_note="the embedded broker",
    ),
    SettingFlag(
        "redis_url",
        "Redis URL; the password only via STREAMREC_REDIS_PASSWORD",
        SERVERS,
        metavar="URL",
        default_note="the embedded Valkey",
    ),
    SettingFlag(
        "namespace",
        "prefix for topics and keys, to run several pipelines side by side",
        SERVERS,
        metavar="NAME",
    ),
    SettingFlag("partitions", "partitions of the clicks topic when it is created", SERVERS),
    SettingFlag(
        "connect_timeout",
        "seconds to wait for servers before giving up",
        SERVERS,
        metavar="SECONDS",
    ),
    SettingFlag(
        "run_dir", "pid, log and data files of the embedded servers", SERVERS, metavar="PATH"
    ),
    SettingFlag(
        "prometheus_bin",
        "the Prometheus server to run beside the embedded servers (optional: without one "
        "there is no Prometheus)",
        SERVERS,
        metavar="PATH",
        default_note="`prometheus` on PATH",
    ),
    SettingFlag("prometheus_port", "port of the embedded Prometheus", SERVERS, metavar="PORT"),
    SettingFlag("device", "where torch runs; auto: cuda when available", RUNTIME, choices=DEVICES),
    SettingFlag("threads", "torch threads; 0 = one per core, capped at 2", RUNTIME),
    SettingFlag(
        "log_level",
        "least severe log messages written to stderr",
        RUNTIME,
        choices=LOG_LEVELS,
    ),
    SettingFlag(
        "keep_demo_dir", "keep the demo's scratch directory (consumer logs) at exit", RUNTIME
    ),
)

DEFAULT_METAVARS = {"int": "N", "float": "N", "Path": "PATH"}
CONVERTERS: dict[str, Callable[[str], Any]] = {
    "int": number(int),
    "float": number(float),
    "Path": Path,
    "str": str,
}


def field_types() -> dict[str, str]:
    """Settings field name -> its annotated type, as written (``"int"``, ``"Path"``, ...)."""
    return {f.name: str(f.type) for f in setting_fields()}


def add_setting_flags(
    parser: argparse.ArgumentParser,
    defaults: Settings,
    fields: Iterable[str],
    notes: Mapping[str, str] | None = None,
) -> None:
    """Add the flags of ``fields`` to ``parser``, in their groups (``GROUP_ORDER``).

    ``notes``: a few words per field that this command adds to the registry's help.
    """
    notes = notes or {}
    types = field_types()
    wanted = [REGISTRY[name] for name in fields]
    for group_name in GROUP_ORDER:
        members = [spec for spec in wanted if spec.group == group_name]
        if not members:
            continue
        group = parser.add_argument_group(group_name)
        for spec in members:
            text = help_text(spec, defaults, notes.get(spec.field, ""))
            kind = types[spec.field]
            if kind == "bool":
                group.add_argument(
                    spec.option,
                    dest=spec.field,
                    action=argparse.BooleanOptionalAction,
                    default=None,
                    help=text,
                )
                continue
            group.add_argument(
                spec.option,
                dest=spec.field,
                type=CONVERTERS[kind],
                choices=spec.choices,
                metavar=spec.metavar or DEFAULT_METAVARS.get(kind),
                default=None,
                help=text,
            )


def given_settings(args: argparse.Namespace, fields: Iterable[str]) -> dict[str, Any]:
    """The settings given on the command line: the flags of ``fields`` that are not None."""
    values = {name: getattr(args, name, None) for name in fields}
    return {name: value for name, value in values.items() if value is not None}


def settings_from_args(
    args: argparse.Namespace, defaults: Settings, fields: Iterable[str]
) -> Settings:
    """``defaults`` with the given flags applied; raises ``ConfigError`` on a bad value."""
    return defaults.with_overrides(given_settings(args, fields))
