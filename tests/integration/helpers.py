"""Helpers for pipeline tests: isolated settings, consumers, waiting on Redis, reading topics."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    Message,
    Producer,
    TopicPartition,
)

from streamrec.clients import ensure_topics, kafka_config, redis_client
from streamrec.config import Settings
from streamrec.consumer.store import SessionStore
from streamrec.consumer.totals import OnlineTotals, read_totals, wait_until_accounted
from streamrec.contract.names import Names
from streamrec.pipeline.processes import start_consumers, stop_consumers, wait_for_assignment
from streamrec.pipeline.scrape import metric_sum, scrape
from streamrec.producer.replay import ClickProducer, ReplayResult
from streamrec.producer.sources import ReplaySessions, replay_sessions
from tests.backends import Endpoints
from tests.models import TinyModel


def isolated_settings(base: Settings, servers: Endpoints, **overrides: object) -> Settings:
    """``base`` pointed at the test servers with a fresh namespace and group."""
    run = uuid.uuid4().hex[:8]
    values: dict[str, object] = {
        "kafka_bootstrap": servers.kafka_bootstrap,
        "redis_url": servers.redis_url,
        "namespace": f"t{run}",
        "group": f"g{run}",
    }
    values.update(overrides)
    return base.with_overrides(values)


class RawProducer:
    """Arbitrary bytes into the clicks topic, for fault injection (garbage, bad events)."""

    def __init__(self, settings: Settings) -> None:
        self.topic = Names(settings.namespace).clicks
        self.producer = Producer(kafka_config(settings, acks="all"))
        self.failed = 0

    def _on_delivery(self, err: KafkaError | None, _msg: Message) -> None:
        self.failed += err is not None

    def send(self, key: bytes | None, value: bytes) -> None:
        """Queue one message as it is."""
        self.producer.produce(self.topic, key=key, value=value, on_delivery=self._on_delivery)
        self.producer.poll(0)

    def flush(self, timeout: float = 60.0) -> int:
        """Wait for delivery reports; returns messages still not reported."""
        return int(self.producer.flush(timeout))


def wait_for_totals(
    settings: Settings, expected_events: int, timeout: float = 240.0
) -> OnlineTotals:
    """Poll Redis until every event is accounted for (applied, duplicate, gap or invalid)."""
    client, names = redis_client(settings), Names(settings.namespace)
    return wait_until_accounted(client, names, expected_events, timeout)


def assert_state_matches(settings: Settings, sessions: ReplaySessions, max_len: int = 25) -> None:
    """Every replayed session's Redis state is its last window and last seq."""
    store = SessionStore(redis_client(settings), Names(settings.namespace), max_len, 3600)
    ids = [sessions.corpus.session_ids[i] for i in sessions.indices]
    states = store.read(ids)
    for idx, sid in zip(sessions.indices, ids):
        clicks = sessions.external_items(idx)  # Redis keeps the events' own item ids
        state = states[sid]
        assert state.last_seq == len(clicks) - 1, sid
        assert state.items == clicks[-max_len:], sid
        assert len(state.topk_items) == 20 and len(state.topk_scores) == 20


def read_messages(settings: Settings, topic: str, timeout: float = 60.0) -> list[Message]:
    """Every message currently in ``topic``.

    Reads until each partition's high watermark as carried by the fetch responses: a queried
    end offset can lag the real end by a producer batch on the embedded broker (see
    docs/architecture.md, "Lag and end offsets")."""
    consumer = Consumer(
        kafka_config(
            settings, **{"group.id": f"reader-{uuid.uuid4().hex}", "enable.auto.commit": False}
        )
    )
    try:
        partitions = list(consumer.list_topics(topic, timeout=10).topics[topic].partitions)
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        next_offset = dict.fromkeys(partitions, 0)
        messages: list[Message] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for msg in consumer.consume(1000, 0.5):
                if msg.error() is not None:
                    continue
                messages.append(msg)
                next_offset[msg.partition() or 0] = (msg.offset() or 0) + 1
            ends = {
                p: consumer.get_watermark_offsets(TopicPartition(topic, p), cached=True)[1]
                for p in partitions
            }
            if all(0 <= ends[p] <= next_offset[p] for p in partitions):
                return messages
        raise AssertionError(f"did not reach the end of {topic} within {timeout:.0f}s")
    finally:
        consumer.close()


def read_topic(settings: Settings, topic: str, timeout: float = 60.0) -> list[bytes]:
    """Every message value currently in ``topic``."""
    return [msg.value() or b"" for msg in read_messages(settings, topic, timeout)]


def session_snapshot(settings: Settings, sessions: ReplaySessions) -> dict[str, tuple]:
    store = SessionStore(redis_client(settings), Names(settings.namespace), 25, 3600)
    ids = [sessions.corpus.session_ids[i] for i in sessions.indices]
    return {
        sid: (st.last_seq, tuple(st.items), tuple(st.topk_items))
        for sid, st in store.read(ids).items()
    }


def assert_same_totals(a: OnlineTotals, b: OnlineTotals) -> None:
    assert (a.overall.n, a.overall.hits_10, a.overall.hits_20) == (
        b.overall.n, b.overall.hits_10, b.overall.hits_20
    )  # fmt: skip
    assert a.overall.rr_sum_20 == pytest.approx(b.overall.rr_sum_20, rel=1e-9)
    assert a.applied == b.applied
    assert a.per_behavior.keys() == b.per_behavior.keys()
    for label in a.per_behavior:
        assert a.per_behavior[label].hits_10 == b.per_behavior[label].hits_10


def fault_free_run(
    model: TinyModel, servers: Endpoints, tmp: Path, sessions: int
) -> tuple[Settings, ReplaySessions, OnlineTotals]:
    settings = isolated_settings(model.settings, servers, partitions=4)
    ensure_topics(settings)
    replay = replay_sessions(settings, held_out_only=True, max_sessions=sessions)
    procs = start_consumers(settings, model.path, 2, tmp)
    try:
        wait_for_assignment(procs, 4)
        result = ClickProducer(settings).replay(replay, concurrency=100, seed=5)
        totals = wait_for_totals(settings, result.sent)
    finally:
        assert stop_consumers(procs) == [0, 0]
    return settings, replay, totals


def log_tails(paths: list[Path], lines: int = 20) -> str:
    """Last lines of each consumer log, for assertion messages."""
    return "\n".join(
        f"--- {p}\n" + "\n".join(p.read_text(errors="replace").splitlines()[-lines:]) for p in paths
    )


class BackgroundReplay:
    """``producer.replay(sessions, **how)`` on a thread, started at once: the stream goes on
    while a test breaks things; ``result`` waits for it and checks every event was sent."""

    def __init__(self, producer: ClickProducer, sessions: ReplaySessions, **how: Any) -> None:
        self.producer = producer
        self._results: list[ReplayResult] = []
        self._thread = threading.Thread(
            target=lambda: self._results.append(producer.replay(sessions, **how)), daemon=True
        )
        self._thread.start()

    def result(self, timeout: float) -> ReplayResult:
        """Wait up to ``timeout`` for the replay; fail the test unless it ended with every
        event acknowledged."""
        self._thread.join(timeout)
        assert not self._thread.is_alive(), f"the replay did not end within {timeout:.0f}s"
        assert self._results, "the replay raised (see the thread's traceback above)"
        result = self._results[0]
        assert result.failed == 0, f"{result.failed} events failed: {self.producer.last_error}"
        return result


def poll_until(condition: Callable[[], bool], message: str, timeout: float = 60.0) -> None:
    """Wait for ``condition`` with a deadline; fail with ``message`` past it."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, message
        time.sleep(0.1)


def stream_under_way(
    settings: Settings, sessions: ReplaySessions, timeout: float = 60.0
) -> BackgroundReplay:
    """Replay ``sessions`` at 600 events/s in the background and return once 1,000 events are
    applied: an outage test breaks things mid-stream, not before the stream started."""
    producer = BackgroundReplay(
        ClickProducer(settings), sessions, rate=600, concurrency=100, seed=5
    )
    names = Names(settings.namespace)
    poll_until(
        lambda: read_totals(redis_client(settings), names).applied >= 1000,
        "the stream never got going",
        timeout,
    )
    return producer


def wait_for_redis_outage(metrics_url: str, timeout: float = 60.0) -> None:
    """Wait until the consumer at ``metrics_url`` reports Redis down and has retried through
    several backoffs (0.1 + 0.2 + 0.4 + 0.8 s ...)."""
    poll_until(
        lambda: metric_sum([scrape(metrics_url)], "streamrec_redis_up") == 0,
        "outage never reported in streamrec_redis_up",
        timeout,
    )
    poll_until(
        lambda: metric_sum([scrape(metrics_url)], "streamrec_redis_errors_total") >= 5,
        "the consumer did not keep retrying",
        timeout,
    )
