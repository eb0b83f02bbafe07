"""Throwaway embedded pipelines for benchmarks: servers in a scratch directory, a backlog."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from streamrec.clients import ensure_topics
from streamrec.config import Settings
from streamrec.pipeline.servers import pipeline_servers
from streamrec.producer.replay import ClickProducer
from streamrec.producer.sources import ReplaySessions, replay_sessions


def save_results(result: dict[str, Any], path: Path, print_json: bool) -> None:
    """Write a benchmark's ``result`` to ``path`` (indented JSON) and, for ``--json``, print
    it as the last stdout line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2))
    if print_json:
        print(json.dumps(result))


@dataclass
class BenchPipeline:
    """Settings pointing at fresh embedded servers, their scratch directory, the sessions."""

    settings: Settings
    work: Path
    sessions: ReplaySessions
    pids: dict[str, int] = field(default_factory=dict)  # embedded server processes by name

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
    """Fresh embedded servers on free ports (``pipeline_servers``) with the topics created,
    stopped at exit; ``overrides`` are applied to the default settings."""
    work = Path(tempfile.mkdtemp(prefix=f"streamrec-{name}-"))
    with pipeline_servers(Settings().with_overrides({"group": name, **overrides}), work) as run:
        ensure_topics(run.settings)
        sessions = replay_sessions(run.settings, held_out_only=True)
        yield BenchPipeline(run.settings, work, sessions, dict(run.pids))
