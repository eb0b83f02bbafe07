"""``streamrec demo``: the whole pipeline on one machine, start to summary.

Starts embedded servers (unless external ones are configured), makes sure a model exists,
starts consumer processes, replays held-out sessions, waits until every event is accounted
for, then compares the online metrics (exact totals from Redis) with offline evaluation of the
same model on the same sessions, and stops everything it started.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from streamrec.clients import ensure_topics, wait_for_redis
from streamrec.config import Settings
from streamrec.consumer.store import OnlineTotals, read_totals, wait_until_accounted
from streamrec.contract.names import Names
from streamrec.model.checkpoint import load_checkpoint
from streamrec.model.data.examples import build_examples
from streamrec.model.evaluation.evaluate import ModelScorer, evaluate
from streamrec.pipeline.scrape import histogram_quantile, metric_sum, scrape
from streamrec.pipeline.servers import EmbeddedServices, free_port
from streamrec.producer.replay import ClickProducer, ReplayResult
from streamrec.producer.sources import ReplaySessions, replay_sessions

QUICK_MODEL_EPOCHS = 2
QUICK_MODEL_TRAIN_SESSIONS = 4000
QUICK_MODEL_LEARNING_RATE = 3e-3  # a quick model, not the recipe: learn faster from less


class DemoError(RuntimeError):
    """The demo could not complete; one readable line."""


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
    ]  # fmt: skip


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
                raise DemoError(f"a consumer exited at start-up: {' '.join(tail)}")
        texts = [c.metrics_text() for c in consumers]
        if all(t is not None for t in texts):
            counts = [metric_sum([t], "streamrec_assigned_partitions") for t in texts if t]
            if sum(counts) == partitions and min(counts) >= want_each:
                return
        time.sleep(0.2)
    raise DemoError(f"consumers did not share the {partitions} partitions within {timeout:.0f}s")


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


def ensure_model(settings: Settings, console: Console) -> Path:
    """The configured checkpoint, or a quick model trained now (and reused next time)."""
    if settings.model_path.is_file():
        return settings.model_path
    quick = settings.artifacts / "quick-model.pt"
    if quick.is_file():
        return quick
    from streamrec.model.training.workflow import train_model

    console.print(
        f"no checkpoint at {settings.model_path}: training a quick model "
        f"({QUICK_MODEL_EPOCHS} epochs on {QUICK_MODEL_TRAIN_SESSIONS} training sessions) "
        f"-> {quick}; `streamrec train` makes the full one"
    )
    quick_settings = settings.with_overrides(
        {
            "epochs": QUICK_MODEL_EPOCHS,
            "max_train_sessions": QUICK_MODEL_TRAIN_SESSIONS,
            "learning_rate": QUICK_MODEL_LEARNING_RATE,
            "split": "session",
        }
    )
    train_model(quick_settings, quick, console=console)
    return quick


def offline_report(model_path: Path, sessions: ReplaySessions) -> dict[str, Any]:
    """Offline evaluation of the model on exactly the replayed sessions."""
    model, _ = load_checkpoint(model_path, expect_n_items=sessions.corpus.n_items)
    replayed = [sessions.corpus.sessions[i] for i in sessions.indices]
    labels = [sessions.corpus.behaviors[i] for i in sessions.indices]
    return evaluate(ModelScorer(model), build_examples(replayed), labels).report()


@dataclass
class DemoResult:
    """Everything the summary shows."""

    produced: int
    totals: OnlineTotals
    offline: dict[str, Any]
    latency_ms: dict[str, float | None]
    consumers: int
    consumer_exit_codes: list[int]
    seconds: float
    backend: str
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` object."""
        online = self.totals.report()
        pick = ("hit_at_10", "hit_at_20", "mrr_at_20", "n_examples", "per_behavior")
        return {
            "events_produced": self.produced,
            "events_scored": self.totals.applied,
            "events_duplicate": self.totals.duplicate,
            "events_invalid": self.totals.invalid,
            "events_gap": self.totals.gap,
            "online": {k: online[k] for k in pick},
            "offline": {k: self.offline[k] for k in pick},
            "latency_ms": self.latency_ms,
            "consumers": self.consumers,
            "consumer_exit_codes": self.consumer_exit_codes,
            "seconds": round(self.seconds, 1),
            "backend": self.backend,
            **self.extra,
        }


def run_demo(
    settings: Settings,
    sessions: int,
    consumers: int,
    console: Console,
    rate: float = 0.0,
    concurrency: int = 200,
) -> DemoResult:
    """Run the whole pipeline once; see the module docstring."""
    started = time.monotonic()
    run_id = uuid.uuid4().hex[:8]
    work = Path(tempfile.mkdtemp(prefix="streamrec-demo-"))
    services: EmbeddedServices | None = None
    started_consumers: list[ConsumerProcess] = []
    try:
        if settings.external_servers:
            settings = settings.with_overrides(
                {"namespace": f"demo-{run_id}", "group": f"demo-{run_id}"}
            )
            backend = f"external (kafka {settings.kafka_bootstrap}, redis {settings.redis_url})"
        else:
            services = EmbeddedServices(
                work / "services", free_port(), free_port(), settings.redis_password or None
            )
            console.print("starting embedded broker (Tansu) and Valkey on 127.0.0.1 ...")
            services.start()
            settings = settings.with_overrides(
                {"kafka_bootstrap": services.kafka_bootstrap, "redis_url": services.redis_url}
            )
            backend = "embedded (tansu broker + valkey-server)"
        model_path = ensure_model(settings, console)
        client = wait_for_redis(settings)
        ensure_topics(settings)
        replay = replay_sessions(settings, held_out_only=True, max_sessions=sessions)
        if len(replay) < sessions:
            console.print(f"only {len(replay)} held-out sessions exist; replaying all of them")
        console.print(
            f"starting {consumers} consumer process(es) in group {settings.group!r} "
            f"over {settings.partitions} partitions ..."
        )
        started_consumers = start_consumers(settings, model_path, consumers, work)
        wait_for_assignment(started_consumers, settings.partitions)

        total_events = replay.n_events
        console.print(
            f"replaying {len(replay):,} held-out sessions ({total_events:,} click events) ..."
        )
        with _LiveStatus(console, total_events, client, Names(settings.namespace)) as status:
            result = _replay_once(settings, replay, rate, concurrency, status.update_sent)
            totals = status.wait_until_consumed(result.sent, timeout=300.0)
        texts = [t for t in (c.metrics_text() for c in started_consumers) if t]
        latency = {
            f"p{int(q * 100)}": _ms(histogram_quantile(texts, "streamrec_event_latency_seconds", q))
            for q in (0.5, 0.99)
        }
        codes = stop_consumers(started_consumers)
        started_consumers = []
        offline = offline_report(model_path, replay)
        return DemoResult(
            produced=result.sent,
            totals=totals,
            offline=offline,
            latency_ms=latency,
            consumers=consumers,
            consumer_exit_codes=codes,
            seconds=time.monotonic() - started,
            backend=backend,
            extra={"model": str(model_path), "sessions": len(replay)},
        )
    finally:
        if started_consumers:
            stop_consumers(started_consumers)
        if services is not None:
            services.stop()
        if settings.keep_demo_dir:
            console.print(f"demo files kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def _replay_once(
    settings: Settings,
    replay: ReplaySessions,
    rate: float,
    concurrency: int,
    progress: Callable[[int, int], None],
) -> ReplayResult:
    """Replay with a producer that is gone (connections closed) when this returns."""
    producer = ClickProducer(settings)
    result = producer.replay(
        replay, rate=rate, concurrency=concurrency, seed=settings.seed, progress=progress
    )
    if result.failed:
        raise DemoError(f"{result.failed} of {result.sent} events were not acknowledged")
    return result


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 2)


class _LiveStatus:
    """Live progress: events sent, events accounted for, online Hit@10."""

    def __init__(self, console: Console, total: int, client: Any, names: Names) -> None:
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self.client = client
        self.names = names
        self.progress = Progress(
            TextColumn("{task.description:<9}"),
            BarColumn(),
            TextColumn("{task.completed:>7,}/{task.total:,}"),
            TextColumn("{task.fields[info]}"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self.sent_task = self.progress.add_task("produced", total=total, info="")
        self.done_task = self.progress.add_task("consumed", total=total, info="")
        self._last_poll = 0.0
        self._t0 = time.monotonic()

    def __enter__(self) -> _LiveStatus:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.__exit__(None, None, None)

    def update_sent(self, sent: int, total: int) -> None:
        rate = sent / max(time.monotonic() - self._t0, 1e-6)
        self.progress.update(self.sent_task, completed=sent, info=f"{rate:8,.0f} ev/s")
        if time.monotonic() - self._last_poll > 0.5:
            self._refresh()

    def show(self, totals: OnlineTotals) -> None:
        """Update the consumed bar from a totals reading."""
        self._last_poll = time.monotonic()
        hit = totals.overall.metrics()["hit_at_10"]
        self.progress.update(
            self.done_task, completed=totals.accounted, info=f"online Hit@10 {hit:.4f}"
        )

    def _refresh(self) -> None:
        self.show(read_totals(self.client, self.names))

    def wait_until_consumed(self, produced: int, timeout: float) -> OnlineTotals:
        """Poll Redis until every produced event is applied or counted as rejected."""
        try:
            return wait_until_accounted(self.client, self.names, produced, timeout, self.show)
        except TimeoutError as exc:
            raise DemoError(str(exc)) from None
