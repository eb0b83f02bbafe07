"""A load test's own pipeline: a model, servers and consumer processes, in a namespace of its
own, stopped again when the run is over (``streamrec loadtest``, steps or clock-driven)."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from streamrec.clients import ensure_topics
from streamrec.config import Settings
from streamrec.pipeline.models import ensure_model
from streamrec.pipeline.processes import (
    ConsumerProcess,
    start_consumers,
    stop_consumers,
    wait_for_assignment,
)
from streamrec.pipeline.servers import pipeline_servers


@dataclass
class LoadPipeline:
    """What runs for a load test."""

    settings: Settings  # the run's own: its servers, namespace and group
    consumers: list[ConsumerProcess]
    model_path: Path
    backend: str
    server_pids: dict[str, int]  # the embedded servers' (none for external ones)

    def pids(self) -> dict[str, int]:
        """Every process whose CPU a load test reports: consumers, servers and this one (the
        producer)."""
        pids = {f"consumer-{i}": c.proc.pid for i, c in enumerate(self.consumers)}
        pids.update(self.server_pids)
        pids["loadtest (producer)"] = os.getpid()
        return pids


def load_partitions(settings: Settings, consumers: int) -> int:
    """Partitions of a load test's own topics: as configured when ``partitions`` was set
    explicitly, else one per consumer. A partition beyond the consumers adds nothing a load
    test measures, only broker work: on the embedded broker each costs CPU per request, and
    one consumer at 50% and 80% of its saturation measured p99 31 and 34 ms on 1 partition,
    48 and 49 ms on 2, 57 and 102 ms on 4 (docs/benchmarks.md)."""
    return settings.partitions if "partitions" in settings.explicit else consumers


@contextmanager
def load_pipeline(settings: Settings, consumers: int, console: Console) -> Iterator[LoadPipeline]:
    """Ensure a model, start servers (embedded unless configured), create the run's topics
    (``load_partitions``) and start ``consumers`` consumer processes that share the
    partitions; stop them all afterwards. ``RuntimeError`` when a consumer does not exit
    cleanly."""
    work = Path(tempfile.mkdtemp(prefix="streamrec-loadtest-"))
    procs: list[ConsumerProcess] = []
    run_id = uuid.uuid4().hex[:8]
    try:
        model_path, _trained = ensure_model(settings, console)
        with pipeline_servers(settings, work, console) as servers:
            run = servers.settings.with_overrides({
                "namespace": f"load-{run_id}", "group": f"load-{run_id}",
                "partitions": load_partitions(settings, consumers),
            })  # fmt: skip
            ensure_topics(run)
            procs = start_consumers(run, model_path, consumers, work)
            wait_for_assignment(procs, run.partitions)
            yield LoadPipeline(run, procs, model_path, servers.backend, servers.pids)
            codes = stop_consumers(procs)
            procs = []
        if any(codes):
            raise RuntimeError(f"consumer exit codes {codes}")
    finally:
        if procs:
            stop_consumers(procs)
        shutil.rmtree(work, ignore_errors=True)
