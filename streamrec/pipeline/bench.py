"""Throwaway embedded pipelines for benchmarks: servers in a scratch directory, a backlog."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from streamrec.clients import ensure_topics
from streamrec.config import Settings
from streamrec.pipeline.servers import EmbeddedServices, free_port
from streamrec.producer.replay import ClickProducer
from streamrec.producer.sources import ReplaySessions, replay_sessions


@dataclass
class BenchPipeline:
    """Settings pointing at fresh embedded servers, their scratch directory, the sessions."""

    settings: Settings
    work: Path
    sessions: ReplaySessions

    def rounds_for(self, events: int) -> int:
        """Replay rounds (each as new sessions) needed for ``events`` events."""
        return -(-events // self.sessions.n_events)

    def prefill(self, events: int) -> int:
        """Put ``events`` held-out click events on the clicks topic; returns how many."""
        producer = ClickProducer(self.settings)
        return producer.replay(
            self.sessions, limit=events, rounds=self.rounds_for(events), seed=1
        ).sent


@contextmanager
def embedded_pipeline(name: str, **overrides: Any) -> Iterator[BenchPipeline]:
    """Start the embedded broker and Valkey on free ports, create the topics, stop at exit."""
    work = Path(tempfile.mkdtemp(prefix=f"streamrec-{name}-"))
    services = EmbeddedServices(work / "services", free_port(), free_port())
    services.start()
    try:
        settings = Settings().with_overrides({
            "kafka_bootstrap": services.kafka_bootstrap, "redis_url": services.redis_url,
            "group": name, **overrides,
        })  # fmt: skip
        ensure_topics(settings)
        yield BenchPipeline(settings, work, replay_sessions(settings, held_out_only=True))
    finally:
        services.stop()
