"""The one configuration object: defaults, overridden by ``STREAMREC_*`` variables, then flags.

Each setting is declared once in ``Settings`` with its default; ``STREAMREC_<NAME>`` (upper
case) overrides the default, and a CLI flag overrides both. Every value is validated with a
one-line message (``ConfigError``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import Field, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

ENV_PREFIX = "STREAMREC_"
# "session"/"example": 80/20 of one corpus; "time": the last test_days of a log; "none": all
# of it (another log validates or is scored)
SPLITS = ("session", "example", "time", "none")
# the model zoo (streamrec.model.zoo registers each; lstm-attn is the seed's model)
ARCHITECTURES = ("lstm-attn", "gru4rec", "narm", "sasrec", "vsknn", "markov", "popularity")
LOG_FORMATS = ("csv", "session-rec", "yoochoose", "diginetica", "retailrocket")
WINDOW_STARTS = ("zero", "padding")
SCORING_MODES = ("incremental", "full")
DEVICES = ("auto", "cpu", "cuda")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
SERVER_FIELDS = frozenset({"kafka_bootstrap", "redis_url"})


class ConfigError(ValueError):
    """A setting has an invalid value; the message is one readable line."""


SECRET_FIELDS = frozenset({"redis_password", "kafka_password"})


@dataclass(frozen=True)
class Settings:
    """All of StreamRec's settings with their defaults."""

    # data and model
    seed: int = 42
    users: int = 20_000
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
    scoring: str = "incremental"
    scorer_cache_mb: int = 256  # memory budget of the incremental scorer's LRU cache
    # seconds between checks of the served checkpoint for a new file (hot swap); 0: no watching
    model_watch_interval: float = 5.0
    poll_timeout: float = 0.05
    max_message_bytes: int = 65_536
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
    def external_servers(self) -> bool:
        """Whether Kafka or Redis were named explicitly (else run the embedded servers)."""
        return bool(SERVER_FIELDS & self.explicit)

    def validate(self) -> Settings:
        """Return self, or raise ``ConfigError`` naming the first bad value."""
        positive = ("users", "max_len")
        choices = {
            "split": SPLITS,
            "window_start": WINDOW_STARTS,
            "device": DEVICES,
            "scoring": SCORING_MODES,
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
            "epochs", "batch_size",
            "min_item_support",
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
        if self.validation_csv and self.split != "none":
            raise ConfigError(
                "a validation log (--validation-csv) goes with --split none; other splits "
                "hold out part of the training log"
            )
        if not 0 <= self.model_watch_interval < float("inf"):
            raise ConfigError(
                "model_watch_interval must be >= 0 seconds (0: do not watch), "
                f"got {self.model_watch_interval}"
            )
        if not 0 <= self.metrics_port <= 65535:
            raise ConfigError(f"metrics_port must be in 0..65535, got {self.metrics_port}")
        if not self.redis_url.startswith(("redis://", "rediss://", "unix://")):
            raise ConfigError(
                f"redis_url must start with redis://, rediss:// or unix://: {self.redis_url!r}"
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
        if not 0 <= self.learning_rate < float("inf"):
            raise ConfigError(
                f"learning_rate must be >= 0 (0: the default), got {self.learning_rate}"
            )
        return self

    def with_overrides(self, overrides: Mapping[str, Any]) -> Settings:
        """A copy with the non-None ``overrides`` applied (then validated)."""
        known = {f.name for f in setting_fields()}
        changes = {k: v for k, v in overrides.items() if k in known and v is not None}
        return replace(self, **changes, explicit=self.explicit | changes.keys()).validate()


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
