"""``streamrec loadtest --clock``: traffic on a clock for a set time instead of flat steps.

The producer sends held-out sessions on a traffic clock (``streamrec.traffic``: the flat clock
at a rate, or Poisson session starts with drawn dwell times; either modulated by a rate
profile, a compressed day or a flash crowd) for the first ``duration_s`` seconds of its
schedule, then the run waits until the consumers have given every event an outcome (the
drain). All along, ``load_windows`` samples the consumers, the producer and Redis; the report
is per window: offered events/s (the schedule), sent, achieved (events given an outcome),
latency p50/p99, lag and online Hit@10 / MRR@20, written as loadtest.json, loadtest.png
(rates, latency and Hit@10 over time) and online-over-time.png.
"""

from __future__ import annotations

import itertools
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from streamrec.clients import wait_for_redis
from streamrec.config import Settings
from streamrec.consumer.totals import OnlineTotals, wait_until_accounted
from streamrec.contract.names import Names
from streamrec.pipeline.load_pipeline import load_pipeline
from streamrec.pipeline.load_plots import plot_clock_run, write_report
from streamrec.pipeline.load_windows import (
    LoadSample,
    LoadWindow,
    latency_ms,
    load_sampler,
    load_windows,
)
from streamrec.pipeline.oracle_line import oracle_hit_at_10
from streamrec.pipeline.overtime import (
    OVER_TIME_PNG,
    ScrapeSampler,
    auto_window,
    wait_for_evaluations,
)
from streamrec.pipeline.phases import PhaseClock, rounded
from streamrec.pipeline.process_cpu import cpu_cores, cpu_reading
from streamrec.pipeline.processes import metrics_texts
from streamrec.pipeline.prometheus import SCRAPE_INTERVAL_S
from streamrec.producer.replay import ClickProducer
from streamrec.producer.sources import ReplaySessions, replay_sessions
from streamrec.producer.timeline import timeline
from streamrec.progress import ProgressBoard
from streamrec.traffic.clock import ClockSpec

DRAIN_TIMEOUT_S = 300.0  # for the consumers to give every event sent an outcome
METRICS_TIMEOUT_S = 30.0  # for their /metrics to catch up with Redis after the drain
CONCURRENCY = 100  # the flat clock's sessions open at once (as in the step runs)


@dataclass(frozen=True)
class ClockPlan:
    """What a clock-driven run offers: ``clock`` for ``duration_s`` seconds of its schedule
    (``rate``: the flat clock's base events/s)."""

    clock: ClockSpec
    rate: float
    duration_s: float

    def __post_init__(self) -> None:
        if self.clock.kind == "replay":
            raise ValueError("a load test replays generated sessions, which have no times")
        if self.clock.kind == "flat" and self.rate <= 0:
            raise ValueError("the flat clock of a load test needs a rate > 0 events/s")
        if self.duration_s <= 0:
            raise ValueError(f"a load test's duration must be > 0 s, got {self.duration_s}")

    def describe(self) -> str:
        """One line: the clock and the duration."""
        return f"{self.clock.describe(self.rate)}, for {self.duration_s:g}s"


def scheduled_dues(sessions: ReplaySessions, plan: ClockPlan, seed: int) -> list[float]:
    """The due time of every event the plan's clock has due within its duration, in order:
    what the producer sends (the same timeline, seed and concurrency)."""
    events = timeline(sessions, plan.clock, plan.rate, CONCURRENCY, seed, rounds=0)
    # a due of None (send at once) only comes from a flat clock without a rate
    dues = (math.inf if due is None else due for due, *_ in events)
    return list(itertools.takewhile(lambda due: due < plan.duration_s, dues))


@dataclass
class ClockReport:
    """A clock-driven run: its totals and its windows."""

    plan: ClockPlan
    window_s: float
    windows: list[LoadWindow]
    scheduled: int  # events due within the duration
    produced: int
    totals: OnlineTotals  # after the drain
    send_seconds: float
    drain_seconds: float
    latency_ms: dict[str, float | None]  # the whole run
    cpu_cores: dict[str, float]  # the whole run, sending and draining
    backend: str
    consumers: int
    model: str
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict (``loadtest.json``)."""
        online = self.totals.overall.metrics()
        return {
            "mode": "clock",
            "clock": self.plan.describe(),
            "duration_s": self.plan.duration_s,
            "events_scheduled": self.scheduled,
            "events_produced": self.produced,
            "events_accounted": self.totals.accounted,
            "lag_end": max(self.produced - self.totals.accounted, 0),
            "send_seconds": round(self.send_seconds, 2),
            "drain_seconds": round(self.drain_seconds, 2),
            "latency_ms": self.latency_ms,
            "online": {k: online[k] for k in ("hit_at_10", "mrr_at_20", "n_examples")},
            "cpu_cores": self.cpu_cores,
            "backend": self.backend,
            "consumers": self.consumers,
            "model": self.model,
            **self.extra,
            "window_s": self.window_s,
            "windows": [w.to_json() for w in self.windows],
        }


class _Progress:
    """Events sent against the schedule, and events given an outcome (with the lag)."""

    def __init__(
        self,
        board: ProgressBoard,
        total: int,
        producer: ClickProducer,
        sampler: ScrapeSampler[LoadSample],
    ) -> None:
        self.board, self.producer, self.sampler = board, producer, sampler
        self.sent_task = board.add("sent", total)
        self.done_task = board.add("consumed", total)
        self.started = time.monotonic()

    def sent(self, sent: int, _total: int) -> None:
        """The producer's progress hook."""
        rate = sent / max(time.monotonic() - self.started, 1e-6)
        lag = self.producer.last_lag
        late = "" if lag is None else f", {lag * 1000:,.0f} ms behind schedule"
        self.board.update(self.sent_task, sent, info=f"{rate:,.0f} ev/s{late}")
        if self.sampler.samples:
            last = self.sampler.samples[-1]
            self._consumed(last.accounted, last.queued - last.accounted)

    def drained(self, totals: OnlineTotals) -> None:
        """``wait_until_accounted``'s hook."""
        self._consumed(totals.accounted, self.producer.queued - totals.accounted)

    def _consumed(self, accounted: int, lag: int) -> None:
        self.board.update(self.done_task, accounted, info=f"lag {max(lag, 0):,}")


def run_clock_loadtest(
    settings: Settings,
    plan: ClockPlan,
    consumers: int,
    out_dir: Path,
    console: Console,
    window_s: float = 0.0,
) -> tuple[ClockReport, Path, Path]:
    """Start what is needed, offer ``plan``, drain, write the JSON and both plots (windows of
    ``window_s``; 0: about 30); returns (report, json, loadtest.png)."""
    phases = PhaseClock(console)
    with load_pipeline(settings, consumers, console) as pipe:
        run = pipe.settings
        client, names = wait_for_redis(run), Names(run.namespace)
        sessions = replay_sessions(run, held_out_only=True)
        dues = scheduled_dues(sessions, plan, run.seed)
        if not dues:
            raise ValueError(f"the clock has no event due within {plan.duration_s:g}s")
        producer = ClickProducer(run)
        sampler = load_sampler(pipe.consumers, client, names, producer)
        console.print(f"offering {plan.describe()}: {len(dues):,} events ...", highlight=False)
        pids = pipe.pids()
        cpu_before, started = cpu_reading(pids), time.monotonic()
        phases.begin("send and drain")
        sampler.start()
        with ProgressBoard(console) as board:
            progress = _Progress(board, len(dues), producer, sampler)
            result = producer.replay(
                sessions, rate=plan.rate, concurrency=CONCURRENCY, limit=len(dues),
                seed=run.seed, progress=progress.sent, rounds=0, clock=plan.clock,
            )  # fmt: skip
            if result.failed:
                raise RuntimeError(f"{result.failed} events were not acknowledged by the broker")
            drain_started = time.monotonic()
            totals = wait_until_accounted(
                client, names, result.sent, DRAIN_TIMEOUT_S, progress.drained
            )
        drain_seconds = time.monotonic() - drain_started
        phases.begin("final metrics", "reading the consumers' final metrics")
        wait_for_evaluations(
            lambda: metrics_texts(pipe.consumers), totals.overall.n, METRICS_TIMEOUT_S
        )
        samples = sampler.stop()
        cpu = cpu_cores(pids, cpu_before, time.monotonic() - started)
        phases.begin("shutdown", f"stopping {consumers} consumer(s) and the servers")
    phases.begin("oracle")
    oracle = oracle_hit_at_10(sessions, console)
    phases.begin("windows")
    window_s = window_s or auto_window(samples[-1].t - samples[0].t, SCRAPE_INTERVAL_S)
    clock_started_s = result.clock_started - samples[0].t  # since the first sample
    report = ClockReport(
        plan=plan,
        window_s=window_s,
        windows=load_windows(samples, window_s, dues, result.clock_started),
        scheduled=len(dues),
        produced=result.sent,
        totals=totals,
        send_seconds=result.seconds,
        drain_seconds=drain_seconds,
        latency_ms=latency_ms(samples[-1].latency, samples[0].latency, (0.5, 0.95, 0.99)),
        cpu_cores=cpu,
        backend=pipe.backend,
        consumers=consumers,
        model=str(pipe.model_path),
        extra={
            "pacing": None if result.pacing is None else result.pacing.describe(),
            "clock_started_s": round(clock_started_s, 3),
            "partitions": run.partitions,
            "cpu_count": os.cpu_count(),
            "over_time_png": str(out_dir / OVER_TIME_PNG),
            "oracle_hit_at_10": oracle,
        },
    )
    report.extra["timings_s"] = rounded(phases.timings())  # every phase before the files
    console.print(f"writing the report and plots to {out_dir} ...", markup=False, highlight=False)
    json_path, png_path = write_report(report.to_json(), report.windows, out_dir, consumers, oracle)
    title = f"StreamRec load test, {consumers} consumer(s): {plan.describe()}"
    plot_clock_run(report.windows, png_path, title, clock_started_s + plan.duration_s)
    return report, json_path, png_path
