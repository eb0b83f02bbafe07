"""Consumer processes of a pipeline on one machine: start, wait for the group, stop; and the
online learner's process."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from streamrec.config import Settings
from streamrec.consumer.telemetry import ASSIGNED_PARTITIONS
from streamrec.pipeline.scrape import metric_sum, scrape
from streamrec.pipeline.servers import free_port


class ProcessError(RuntimeError):
    """A consumer process failed to start or to join its group; one readable line."""


@dataclass
class ConsumerProcess:
    """A consumer child process and its metrics endpoint."""

    proc: subprocess.Popen[bytes]
    metrics_url: str
    log_path: Path

    def metrics_text(self) -> str | None:
        """Its /metrics, or None while it is not answering."""
        try:
            return scrape(self.metrics_url)
        except OSError:
            return None


def metrics_texts(consumers: list[ConsumerProcess]) -> list[str] | None:
    """Every consumer's /metrics, or None while one of them is not answering."""
    texts = [c.metrics_text() for c in consumers]
    return None if any(t is None for t in texts) else [t for t in texts if t is not None]


def consumer_command(settings: Settings, model: Path, metrics_port: int) -> list[str]:
    """The ``streamrec consume`` command line for one consumer process."""
    return [
        sys.executable, "-m", "streamrec", "consume",
        "--kafka-bootstrap", settings.kafka_bootstrap,
        "--redis-url", settings.redis_url,
        "--namespace", settings.namespace,
        "--group", settings.group,
        "--partitions", str(settings.partitions),
        "--model", str(model),
        "--metrics-port", str(metrics_port),
        "--threads", "1",
        "--scoring", settings.scoring,
        "--scorer-cache-mb", str(settings.scorer_cache_mb),
        "--retrieval", settings.retrieval,
        "--candidates", str(settings.candidates),
        "--ann-probes", str(settings.ann_probes),
        *(["--shadow-model", settings.shadow_model] if settings.shadow_model else []),
        *(["--split-traffic", str(settings.split_traffic)] if settings.shadow_model else []),
        "--fetch-wait-ms", str(settings.fetch_wait_ms),
        "--model-watch-interval", str(settings.model_watch_interval),
        *(
            ["--follow", settings.follow_dir, "--version-wait-ms", str(settings.version_wait_ms)]
            if settings.follow_dir else []
        ),
    ]  # fmt: skip


def learner_command(
    settings: Settings,
    model: Path,
    out_dir: Path,
    refresh: str,
    metrics_port: int,
    idle_timeout_s: float = 2.0,
) -> list[str]:
    """The ``streamrec learn`` command line: ``settings``' servers and namespace, and its
    training data (the click-log or generator settings the checkpoint was trained with)."""
    log = [
        "--from-csv", settings.csv_path, "--format", settings.log_format,
        "--test-days", str(settings.test_days),
        "--min-session-length", str(settings.min_session_length),
        "--min-item-support", str(settings.min_item_support),
    ] if settings.csv_path else [
        "--seed", str(settings.seed), "--users", str(settings.users),
        "--items", str(settings.items),
        "--generator", settings.generator, "--scenario", settings.scenario,
        "--drift-at", repr(settings.drift_at),
    ]  # fmt: skip
    log += ["--split", settings.split, "--max-train-sessions", str(settings.max_train_sessions)]
    return [
        sys.executable, "-m", "streamrec", "learn",
        "--kafka-bootstrap", settings.kafka_bootstrap,
        "--namespace", settings.namespace,
        "--partitions", str(settings.partitions),
        "--model", str(model),
        *log,
        "--refresh", refresh,
        "--out-dir", str(out_dir),
        "--idle-timeout-s", str(idle_timeout_s),
        "--metrics-port", str(metrics_port),
        "--fetch-wait-ms", str(settings.fetch_wait_ms),
        "--threads", "1",
    ]  # fmt: skip


def start_learner(command: list[str], log_path: Path) -> ConsumerProcess:
    """Start a learner process (``learner_command``) with its log at ``log_path``."""
    port = int(command[command.index("--metrics-port") + 1])
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log_file:
        proc = subprocess.Popen(
            command, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    return ConsumerProcess(proc, f"http://127.0.0.1:{port}/metrics", log_path)


def start_consumers(
    settings: Settings, model: Path, count: int, log_dir: Path
) -> list[ConsumerProcess]:
    """Start ``count`` consumer processes (logs in ``log_dir``)."""
    out = []
    for i in range(count):
        port = free_port()
        log_dir.mkdir(parents=True, exist_ok=True)
        log_path = log_dir / f"consumer-{i}.log"
        with open(log_path, "wb") as log_file:
            proc = subprocess.Popen(
                consumer_command(settings, model, port),
                stdout=log_file,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        out.append(ConsumerProcess(proc, f"http://127.0.0.1:{port}/metrics", log_path))
    return out


def wait_for_assignment(
    consumers: list[ConsumerProcess], partitions: int, timeout: float = 120.0
) -> None:
    """Wait until the group has spread all partitions over the consumers."""
    deadline = time.monotonic() + timeout
    want_each = 1 if len(consumers) <= partitions else 0
    while time.monotonic() < deadline:
        for c in consumers:
            if c.proc.poll() is not None:
                tail = c.log_path.read_text(errors="replace").strip().splitlines()[-1:]
                raise ProcessError(f"a consumer exited at start-up: {' '.join(tail)}")
        texts = [c.metrics_text() for c in consumers]
        if all(t is not None for t in texts):
            counts = [metric_sum([t], ASSIGNED_PARTITIONS) for t in texts if t]
            if sum(counts) == partitions and min(counts) >= want_each:
                return
        time.sleep(0.2)
    raise ProcessError(f"consumers did not share the {partitions} partitions within {timeout:.0f}s")


def stop_consumers(consumers: list[ConsumerProcess], timeout: float = 30.0) -> list[int]:
    """SIGTERM every consumer and wait; returns exit codes (SIGKILL after ``timeout``)."""
    for c in consumers:
        if c.proc.poll() is None:
            c.proc.send_signal(signal.SIGTERM)
    codes = []
    for c in consumers:
        try:
            codes.append(c.proc.wait(timeout))
        except subprocess.TimeoutExpired:
            c.proc.kill()
            codes.append(c.proc.wait())
    return codes
