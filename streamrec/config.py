"""The one configuration object: defaults, overridden by ``STREAMREC_*`` variables, then flags.

Each setting is declared once in ``Settings`` with its default; ``STREAMREC_<NAME>`` (upper
case) overrides the default, and a CLI flag overrides both. Every value is validated with a
one-line message (``ConfigError``).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from dataclasses import Field, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

ENV_PREFIX = "STREAMREC_"
# "session"/"example": 80/20 of one corpus; "time": the last test_days of a log; "day": the
# sessions starting on its last test_days UTC calendar days; "none": all of it (another log
# validates or is scored)
SPLITS = ("session", "example", "time", "day", "none")
# generated sessions: the seed's process, or one with item successors / a first-click anchor
# (streamrec.model.data.generator_modes; the config layer imports nothing of the package)
GENERATORS = ("seed", "series", "anchor")
# drift scenarios on generated data (streamrec.model.data.scenarios): the process changes at
# the moment --drift-at (share of the users generated before it)
SCENARIOS = ("none", "new-items", "popularity-shift", "behaviour-mix")
# the model zoo (streamrec.model.zoo registers each; lstm-attn is the seed's model)
ARCHITECTURES = (
    "lstm-attn",
    "gru4rec",
    "narm",
    "sasrec",
    "vsknn",
    "hybrid",
    "markov",
    "popularity",
    "recent-popularity",
    "recent-markov",
)
BASELINES = ("popularity", "category-popularity", "markov", "oracle")  # evaluate --baseline
LOG_FORMATS = ("csv", "session-rec", "yoochoose", "diginetica", "retailrocket", "globo")
WINDOW_STARTS = ("zero", "padding")
SCORING_MODES = ("auto", "incremental", "full")
LOSSES = ("full", "sampled")  # neural training: full-catalog or sampled softmax (issue 21)
RETRIEVALS = ("exact", "ann")  # neural serving: whole catalog, or ANN candidates re-scored
DEVICES = ("auto", "cpu", "cuda")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
MAX_FETCH_WAIT_MS = 5000  # longer would stall a consumer's first fetch after a rebalance
MAX_VERSION_WAIT_MS = 120_000  # within librdkafka's max.poll.interval.ms (300 s)
MAX_ITEMS, MAX_USERS = 1_000_000, 10_000_000  # the generator's catalog and user bounds
SERVER_FIELDS = frozenset({"kafka_bootstrap", "redis_url"})
# redis_url schemes that name a Redis Cluster (redis-py's cluster client; TLS with rediss+)
CLUSTER_SCHEMES = ("redis+cluster://", "rediss+cluster://")


class ConfigError(ValueError):
    """A setting has an invalid value; the message is one readable line."""


SECRET_FIELDS = frozenset({"redis_password", "kafka_password"})


@dataclass(frozen=True)
class Settings:
    """All of StreamRec's settings with their defaults."""

    # data and model
    seed: int = 42
    users: int = 20_000
    items: int = 5_000  # generated catalog size (categories scale with it)
    generator: str = "seed"  # seed (the seed's sessions), series or anchor
    scenario: str = "none"  # drift scenario on generated data (SCENARIOS)
    drift_at: float = 0.5  # the drift's moment: share of the users generated before it
    split: str = "session"
    max_len: int = 25
    # "zero": the LSTM starts at each window's first click (incremental scoring is exact);
    # "padding": the seed's model, which also runs over the left padding
    window_start: str = "zero"
    # a real click log instead of generated sessions (empty: generate)
    csv_path: str = ""
    csv_separator: str = ";"
    csv_session_column: str = "session_id"
    csv_item_column: str = "item_id"
    csv_time_columns: str = "eventdate,timeframe"
    log_format: str = "csv"  # csv (the columns above), session-rec, yoochoose, diginetica, ...
    min_session_length: int = 0  # 0: the format's default (2 for raw public logs, else 1)
    min_item_support: int = 0  # 0: the format's default (5 for raw public logs, else 1)
    session_gap_minutes: float = 30.0  # retailrocket: a visitor's gap that starts a session
    test_days: float = 1.0  # split "time": sessions starting in the log's last N days
    validation_csv: str = ""  # split "none": a later log for the per-epoch figures
    train_csv: str = ""  # evaluate: fit baselines on this log, score the --from-csv one
    # training
    architecture: str = "lstm-attn"
    # 0: the architecture's own default (lstm-attn: the seed's 20 / 256 / 1e-3; gru4rec: its
    # authors' RSC15 setting)
    epochs: int = 0
    max_train_sessions: int = 0  # > 0: train on the first N training sessions only (quick models)
    batch_size: int = 0
    learning_rate: float = 0.0
    device: str = "auto"
    # more than 2 threads oversubscribes small machines whose cores other processes share
    threads: int = 0  # 0: one per core, capped at 2
    validation_sample: int = 0  # > 0: validate each epoch on this many examples (quick models)
    loss: str = "full"  # sampled: in-batch + popularity-sampled negatives with logQ correction
    # learning from the stream (issue 20; 0: the architecture's own): a fine-tune's most
    # seconds and optimiser steps, older sessions it replays; the recency models' half-life
    update_budget_s: float = 0.0
    update_steps: int = 0
    replay_sessions: int = 1000
    recency_half_life_h: float = 1.0
    # where things go
    artifacts: Path = Path("artifacts")
    model_path: Path = Path("artifacts/model.pt")
    run_dir: Path = Path(".streamrec")
    # servers (the embedded ones listen on these ports by default)
    kafka_bootstrap: str = "127.0.0.1:19092"
    redis_url: str = "redis://127.0.0.1:16379/0"
    redis_password: str = ""
    kafka_username: str = ""  # set to use SASL/PLAIN
    kafka_password: str = ""
    kafka_security_protocol: str = "SASL_SSL"
    namespace: str = ""
    connect_timeout: float = 30.0
    # the optional embedded Prometheus: its binary (empty: `prometheus` on PATH) and port
    prometheus_bin: str = ""
    prometheus_port: int = 19090
    # streaming
    partitions: int = 4
    group: str = "streamrec"
    session_ttl: float = 1800.0
    metrics_port: int = 9400
    metrics_host: str = "127.0.0.1"
    log_level: str = "INFO"
    poll_batch: int = 500
    # "incremental": one LSTM step per click from per-session cached state (zero-start models;
    # padding models are always recomputed); "full": recompute every window
    scoring: str = "auto"  # incremental on CPU, full recomputation on CUDA
    scorer_cache_mb: int = 256  # memory budget of the incremental scorer's LRU cache
    retrieval: str = "exact"  # ann: candidates from an index over the item embeddings
    candidates: int = 200  # ann: candidates re-scored exactly per click
    ann_probes: int = 0  # ann: IVF lists scanned per click; 0: by catalog size
    # seconds between checks of the served checkpoint for a new file (hot swap); 0: no watching
    model_watch_interval: float = 5.0
    poll_timeout: float = 0.05
    # how long the broker may hold a consumer's fetch (librdkafka fetch.wait.max.ms): the
    # embedded broker holds every fetch this long, so it is latency and request rate at once;
    # 2 ms measured better than 10 on both (docs/benchmarks.md, "What sets the floor")
    fetch_wait_ms: int = 2
    max_message_bytes: int = 65_536
    # a second checkpoint (same catalog and window length as model_path): scored on every
    # event as a shadow, or, with split_traffic > 0, serving that share of the sessions
    shadow_model: str = ""
    split_traffic: float = 0.0  # 0: shadow only; 0 < P < 1: the second model's share (A/B)
    # serve the online learner's versions (empty: model_path); wait for one at most this long
    follow_dir: str = ""
    version_wait_ms: int = 5000
    keep_demo_dir: bool = False  # keep the demo's scratch directory (consumer logs) at exit
    # names of the settings given explicitly (environment or flags), not defaults
    explicit: frozenset[str] = field(default=frozenset(), repr=False, compare=False)

    def __repr__(self) -> str:
        """Like the dataclass repr, with secrets masked (settings end up in logs)."""

        def show(name: str) -> str:
            value = getattr(self, name)
            return "'***'" if name in SECRET_FIELDS and value else repr(value)

        return "Settings(" + ", ".join(f"{f.name}={show(f.name)}" for f in setting_fields()) + ")"

    @property
    def redis_cluster(self) -> bool:
        """Whether ``redis_url`` names a Redis Cluster (``redis+cluster://``)."""
        return self.redis_url.startswith(CLUSTER_SCHEMES)

    @property
    def external_servers(self) -> bool:
        """Whether Kafka or Redis were named explicitly (else run the embedded servers)."""
        return bool(SERVER_FIELDS & self.explicit)

    def validate(self) -> Settings:
        """Return self, or raise ``ConfigError`` naming the first bad value."""
        positive = ("users", "max_len")
        choices = {
            "split": SPLITS,
            "generator": GENERATORS,
            "scenario": SCENARIOS,
            "window_start": WINDOW_STARTS,
            "device": DEVICES,
            "scoring": SCORING_MODES,
            "loss": LOSSES,
            "retrieval": RETRIEVALS,
            "log_level": LOG_LEVELS,
            "log_format": LOG_FORMATS,
            "architecture": ARCHITECTURES,
            "kafka_security_protocol": ("SASL_SSL", "SASL_PLAINTEXT"),
        }
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ConfigError(
                    f"{name} must be one of {', '.join(allowed)}, got {getattr(self, name)!r}"
                )
        for name in positive:
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.seed < 0:
            raise ConfigError(f"seed must be >= 0, got {self.seed}")
        for name in (
            "max_train_sessions", "threads", "validation_sample", "min_session_length",
            "epochs", "batch_size", "min_item_support", "update_steps", "replay_sessions",
        ):  # fmt: skip
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be >= 0, got {getattr(self, name)}")
        for name in ("partitions", "poll_batch", "max_message_bytes", "scorer_cache_mb"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in (
            "session_ttl", "poll_timeout", "connect_timeout", "test_days", "session_gap_minutes",
        ):  # fmt: skip
            if not getattr(self, name) > 0:
                raise ConfigError(f"{name} must be > 0, got {getattr(self, name)}")
        if self.ann_probes < 0:
            raise ConfigError(
                f"ann_probes must be >= 0 (0: by catalog size), got {self.ann_probes}"
            )
        if self.candidates < 20:
            raise ConfigError(
                f"candidates must be >= 20 (the top 20 served), got {self.candidates}"
            )
        if not 0 < self.drift_at < 1:
            raise ConfigError(f"drift_at must be > 0 and < 1, got {self.drift_at}")
        if self.validation_csv and self.split != "none":
            raise ConfigError(
                "a validation log (--validation-csv) goes with --split none; other splits "
                "hold out part of the training log"
            )
        if not 0 <= self.split_traffic < 1:
            raise ConfigError(
                f"split_traffic must be > 0 and < 1 (0: off), got {self.split_traffic}"
            )
        if self.split_traffic and not self.shadow_model:
            raise ConfigError(
                "split_traffic needs the second model: give it with --shadow-model PATH"
            )
        for name, low, high in (
            ("version_wait_ms", 0, MAX_VERSION_WAIT_MS), ("fetch_wait_ms", 1, MAX_FETCH_WAIT_MS),
            ("users", 1, MAX_USERS), ("items", 1, MAX_ITEMS),
        ):  # fmt: skip
            if not low <= getattr(self, name) <= high:
                raise ConfigError(f"{name} must be in {low}..{high}, got {getattr(self, name)}")
        if not 0 <= self.model_watch_interval < float("inf"):
            raise ConfigError(
                "model_watch_interval must be >= 0 seconds (0: do not watch), "
                f"got {self.model_watch_interval}"
            )
        if not 0 <= self.metrics_port <= 65535:
            raise ConfigError(f"metrics_port must be in 0..65535, got {self.metrics_port}")
        if not 1 <= self.prometheus_port <= 65535:
            raise ConfigError(f"prometheus_port must be in 1..65535, got {self.prometheus_port}")
        if self.prometheus_bin and shutil.which(self.prometheus_bin) is None:
            raise ConfigError(
                f"prometheus_bin must name an executable (a path or a command on PATH), "
                f"got {self.prometheus_bin!r}"
            )
        if self.redis_url.startswith(CLUSTER_SCHEMES):
            cluster_nodes(self.redis_url)  # raises ConfigError naming what is wrong
        elif not self.redis_url.startswith(("redis://", "rediss://", "unix://")):
            raise ConfigError(
                "redis_url must start with redis://, rediss://, unix:// or (a Redis Cluster) "
                f"redis+cluster:// or rediss+cluster://: {self.redis_url!r}"
            )
        if not self.kafka_bootstrap or " " in self.kafka_bootstrap:
            raise ConfigError(
                f"kafka_bootstrap must be host:port[,host:port]: {self.kafka_bootstrap!r}"
            )
        if self.namespace and not all(c.isalnum() or c in "-_" for c in self.namespace):
            raise ConfigError(
                f"namespace may hold letters, digits, '-' and '_': {self.namespace!r}"
            )
        if len(self.csv_separator) != 1:
            raise ConfigError(f"csv_separator must be one character, got {self.csv_separator!r}")
        if bool(self.kafka_username) != bool(self.kafka_password):
            raise ConfigError("set both STREAMREC_KAFKA_USERNAME and STREAMREC_KAFKA_PASSWORD")
        if not self.group:
            raise ConfigError("group must not be empty")
        for name in ("update_budget_s", "learning_rate"):
            if not 0 <= getattr(self, name) < float("inf"):
                raise ConfigError(
                    f"{name} must be >= 0 (0: the default), got {getattr(self, name)}"
                )
        if not 0 < self.recency_half_life_h < float("inf"):
            raise ConfigError(
                f"recency_half_life_h must be > 0 hours, got {self.recency_half_life_h}"
            )
        return self

    def with_overrides(self, overrides: Mapping[str, Any]) -> Settings:
        """A copy with the non-None ``overrides`` applied (then validated)."""
        known = {f.name for f in setting_fields()}
        changes = {k: v for k, v in overrides.items() if k in known and v is not None}
        return replace(self, **changes, explicit=self.explicit | changes.keys()).validate()


def cluster_nodes(url: str) -> list[tuple[str, int]]:
    """The startup nodes of a Redis Cluster URL, ``redis+cluster://host:port[,host:port...]``
    (``rediss+cluster://``: TLS), in order; a missing port is 6379; a path may only name
    database 0 (a cluster has no other). Raises ``ConfigError`` naming what is wrong."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme + "://" not in CLUSTER_SCHEMES:
        raise ConfigError(f"not a Redis Cluster URL (redis+cluster://host:port,...): {url!r}")
    hosts, _, path = rest.partition("/")
    if "?" in rest or "#" in rest:
        raise ConfigError(f"redis_url: a cluster URL takes no query or fragment: {url!r}")
    if "@" in hosts:
        raise ConfigError(
            f"redis_url: put the password in STREAMREC_REDIS_PASSWORD, not the URL: {url!r}"
        )
    if path not in ("", "0"):
        raise ConfigError(f"redis_url: a Redis Cluster has only database 0, got /{path}: {url!r}")
    nodes: list[tuple[str, int]] = []
    for node in hosts.split(","):
        host, port = _host_port(node.strip(), url)
        nodes.append((host, port))
    return nodes


def _host_port(node: str, url: str) -> tuple[str, int]:
    """``host``, ``host:port``, ``[v6]`` or ``[v6]:port`` of one cluster startup node."""
    if node.startswith("["):
        host, bracket, tail = node[1:].partition("]")
        if not bracket or (tail and not tail.startswith(":")):
            raise ConfigError(f"redis_url: bad node address {node!r} in {url!r}")
        port_text = tail[1:] if tail else ""
    else:
        host, _, port_text = node.partition(":")
        if ":" in port_text:
            raise ConfigError(f"redis_url: write an IPv6 node as [addr]:port: {node!r} in {url!r}")
    if not host or any(c.isspace() for c in host):
        raise ConfigError(f"redis_url: a cluster node needs a host: {node!r} in {url!r}")
    if not port_text:
        return host, 6379
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise ConfigError(f"redis_url: port must be 1..65535: {node!r} in {url!r}")
    return host, int(port_text)


def setting_fields() -> list[Field[Any]]:
    """The settings proper (every field but the ``explicit`` bookkeeping)."""
    return [f for f in fields(Settings) if f.name != "explicit"]


def _parse(name: str, kind: Any, raw: str) -> Any:
    try:
        if kind in (int, "int"):
            return int(raw)
        if kind in (float, "float"):
            return float(raw)
        if kind in (Path, "Path"):
            return Path(raw)
        if kind in (bool, "bool"):
            if raw.lower() in ("1", "true", "yes", "on"):
                return True
            if raw.lower() in ("", "0", "false", "no", "off"):
                return False
            raise ValueError(raw)
        return raw
    except ValueError:
        raise ConfigError(f"{ENV_PREFIX}{name.upper()}={raw!r} is not a valid {kind}") from None


def settings_from_env(environ: Mapping[str, str] | None = None) -> Settings:
    """Defaults overridden by ``STREAMREC_*`` variables; raises ``ConfigError`` on bad values."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for f in setting_fields():
        raw = environ.get(ENV_PREFIX + f.name.upper())
        if raw is not None:
            values[f.name] = _parse(f.name, f.type, raw.strip())
    return Settings().with_overrides(values)
