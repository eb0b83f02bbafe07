"""``streamrec loadtest``: offered load in steps until the consumers fall behind.

It runs its own pipeline (``load_pipeline``): consumer processes it starts, on embedded
servers it starts (or on the servers configured explicitly, in a namespace of its own), and
stops them at the end. ``loadtest_clock`` offers traffic on a clock instead of steps.

For each step the producer offers a fixed rate of click events (held-out generated sessions,
each step and round as new session ids) for a set duration. Measured per step:
- achieved throughput: events given an outcome by the consumers (exact, from Redis) per second;
- end-to-end latency p50/p95/p99: event timestamp to recommendation written, from the
  consumers' latency histograms (observations made during the step only);
- lag at the end of the step: events produced but not yet given an outcome;
- CPU of each process (cores used), from /proc;
- the consumers' batches: mean events per batch and mean milliseconds per batch in each stage
  (decode, Redis read, score, emit = recommendations produced and acknowledged, Redis write,
  flush, commit), which says where an event's latency goes.
A step "keeps up" when it achieves at least 90% of the offered rate and its end lag is at most
two seconds' worth of events; the saturation throughput is the highest such step. Over the
whole run the same figures and the online Hit@10 and MRR@20 are sampled per time window
(``load_windows``): the report's ``windows`` and online-over-time.png.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console

from streamrec.clients import wait_for_redis
from streamrec.config import Settings
from streamrec.consumer.telemetry import LATENCY_HISTOGRAM, STAGES
from streamrec.consumer.totals import read_totals
from streamrec.contract.names import Names
from streamrec.pipeline.load_pipeline import load_pipeline
from streamrec.pipeline.load_plots import log_latency_axis, write_report
from streamrec.pipeline.load_warmup import (
    describe_fractions,
    fraction_plan,
    fraction_rows,
    warm_up,
)
from streamrec.pipeline.load_windows import LoadWindow, latency_ms, load_sampler, load_windows
from streamrec.pipeline.oracle_line import oracle_hit_at_10
from streamrec.pipeline.overtime import OVER_TIME_PNG, auto_window
from streamrec.pipeline.phases import PhaseClock, rounded
from streamrec.pipeline.process_cpu import cpu_cores, cpu_reading
from streamrec.pipeline.processes import ConsumerProcess
from streamrec.pipeline.prometheus import SCRAPE_INTERVAL_S
from streamrec.pipeline.scrape import histogram_buckets, metric_sum
from streamrec.plotting import (
    REFERENCE,
    from_zero,
    legend_outside,
    nan_for_none,
    new_figure,
    save,
    title,
)
from streamrec.producer.replay import ClickProducer
from streamrec.producer.sources import ReplaySessions, replay_sessions

if TYPE_CHECKING:
    from matplotlib.figure import Figure

KEEP_UP_FRACTION = 0.9
MAX_LAG_SECONDS = 2.0
ROUNDS_PER_STEP = 1000  # session-id rounds reserved per step, so steps never share sessions
STAGE_HISTOGRAM = "streamrec_batch_stage_seconds"
BATCH_SIZE_HISTOGRAM = "streamrec_batch_size"


@dataclass
class StepResult:
    """What one offered rate achieved."""

    offered_events_per_s: float
    seconds: float
    produced: int
    achieved_events_per_s: float
    latency_ms: dict[str, float | None]
    lag_end: int
    cpu_cores: dict[str, float]
    keeps_up: bool
    batch_mean_events: float | None = None  # events per polled batch, all consumers
    batch_stage_ms: dict[str, float] = field(default_factory=dict)  # mean ms per batch


@dataclass
class LoadTestReport:
    """The whole run."""

    steps: list[StepResult]
    saturation_events_per_s: float
    saturation_is_lower_bound: bool  # every step kept up: the pipeline may do more
    backend: str
    consumers: int
    model: str
    extra: dict[str, Any] = field(default_factory=dict)
    window_s: float = 0.0
    windows: list[LoadWindow] = field(default_factory=list)  # the whole run over time

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "saturation_events_per_s": self.saturation_events_per_s,
            "saturation_is_lower_bound": self.saturation_is_lower_bound,
            "steps": [asdict(s) for s in self.steps],
            "backend": self.backend,
            "consumers": self.consumers,
            "model": self.model,
            **self.extra,
            "window_s": self.window_s,
            "windows": [w.to_json() for w in self.windows],
        }


def _latency(
    consumers: list[ConsumerProcess], before: dict[float, float]
) -> tuple[dict[str, float | None], dict[float, float]]:
    texts = [t for t in (c.metrics_text() for c in consumers) if t]
    now = histogram_buckets(texts, LATENCY_HISTOGRAM)
    return latency_ms(now, before, (0.5, 0.95, 0.99)), now


BatchSums = dict[str, float]


def batch_sums(consumers: list[ConsumerProcess]) -> BatchSums:
    """Running sums of the consumers' batch histograms: sizes, batches, seconds per stage."""
    texts = [t for t in (c.metrics_text() for c in consumers) if t]
    sums = {
        "events": metric_sum(texts, f"{BATCH_SIZE_HISTOGRAM}_sum"),
        "batches": metric_sum(texts, f"{BATCH_SIZE_HISTOGRAM}_count"),
    }
    for stage in STAGES:
        sums[stage] = metric_sum(texts, f"{STAGE_HISTOGRAM}_sum", stage=stage)
    return sums


def batch_figures(after: BatchSums, before: BatchSums) -> tuple[float | None, dict[str, float]]:
    """(mean events per batch, mean ms per batch by stage) between two ``batch_sums``."""
    batches = after["batches"] - before.get("batches", 0.0)
    if batches <= 0:
        return None, {}
    events = after["events"] - before.get("events", 0.0)
    stages = {
        stage: round((after[stage] - before.get(stage, 0.0)) * 1000 / batches, 2)
        for stage in STAGES
    }
    return round(events / batches, 1), stages


def run_steps(
    settings: Settings,
    rates: list[float],
    step_seconds: float,
    consumers: list[ConsumerProcess],
    pids: dict[str, int],
    producer: ClickProducer,
    console: Console,
    sessions: ReplaySessions,
    first_index: int = 0,
    stop_when_behind: bool = True,
    total: int = 0,
) -> list[StepResult]:
    """Offer each rate in turn (``sessions``, each step and round as new session ids; steps
    numbered from ``first_index``, so later calls use new ids too); stop after the first step
    that does not keep up (unless not ``stop_when_behind``). ``pids``: the processes whose CPU
    is reported; ``total``: the steps of the whole run, for the progress lines (0: these)."""
    client = wait_for_redis(settings)
    names = Names(settings.namespace)
    results: list[StepResult] = []
    produced_total = read_totals(client, names).accounted
    _, buckets = _latency(consumers, {})
    sums = batch_sums(consumers)
    for index, rate in enumerate(rates, start=first_index):
        cpu_before = cpu_reading(pids)
        accounted_before = read_totals(client, names).accounted
        started = time.monotonic()
        limit = int(rate * step_seconds)
        steps = total or first_index + len(rates)
        console.print(f"step {index + 1}/{steps}: offering {rate:,.0f} events/s "
                      f"for {step_seconds:.0f}s ...")  # fmt: skip
        result = producer.replay(
            sessions, rate=rate, limit=limit, rounds=0, seed=index,
            first_round=(index + 1) * ROUNDS_PER_STEP,
        )  # fmt: skip
        if result.failed:
            raise RuntimeError(f"{result.failed} events were not acknowledged by the broker")
        elapsed = time.monotonic() - started
        produced_total += result.sent
        totals = read_totals(client, names)
        lag = max(produced_total - totals.accounted, 0)
        achieved = (totals.accounted - accounted_before) / elapsed
        latency, buckets_now = _latency(consumers, buckets)
        buckets = buckets_now
        sums_now = batch_sums(consumers)
        batch_mean, stage_ms = batch_figures(sums_now, sums)
        sums = sums_now
        cpu = cpu_cores(pids, cpu_before, elapsed)
        keeps_up = achieved >= KEEP_UP_FRACTION * rate and lag <= max(MAX_LAG_SECONDS * rate, 100)
        step = StepResult(
            offered_events_per_s=rate,
            seconds=round(elapsed, 2),
            produced=result.sent,
            achieved_events_per_s=round(achieved, 1),
            latency_ms=latency,
            lag_end=lag,
            cpu_cores=cpu,
            keeps_up=keeps_up,
            batch_mean_events=batch_mean,
            batch_stage_ms=stage_ms,
        )
        results.append(step)
        console.print(
            f"  achieved {achieved:,.0f} ev/s, latency p50 {latency['p50']} ms p99 "
            f"{latency['p99']} ms, lag {lag:,}, {'keeps up' if keeps_up else 'FALLS BEHIND'}"
        )
        if stop_when_behind and not keeps_up:
            break
    return results


def fraction_steps(
    settings: Settings,
    rates: list[float],
    step_seconds: float,
    consumers: int,
    first_index: int,
    console: Console,
) -> list[StepResult]:
    """Each of ``rates`` as a step on a pipeline of its own (servers, consumers, warm-up),
    every step measured whether or not the one before kept up. Own pipelines because the
    embedded broker's cost per event grows with what it holds (``bench/broker_growth.py``):
    a step behind another measures the broker's history, not the rate."""
    results: list[StepResult] = []
    for offset, rate in enumerate(rates):
        with load_pipeline(settings, consumers, console) as pipe:
            producer = ClickProducer(pipe.settings)
            sessions = replay_sessions(pipe.settings, held_out_only=True)
            warm_up(pipe.settings, producer, sessions, rate, console)
            results += run_steps(
                pipe.settings, [rate], step_seconds, pipe.consumers, pipe.pids(), producer,
                console, sessions, first_index=first_index + offset, stop_when_behind=False,
                total=first_index + len(rates),
            )  # fmt: skip
    return results


def report_figure(report: LoadTestReport) -> Figure:
    """Latency percentiles (left, log scale) and achieved throughput against the offered rate
    (dashed: achieved = offered), then the lag at each step's end (right), against the
    offered rate; a vertical line at the saturation throughput."""
    fig, (ax_lat, ax_tput, ax_lag) = new_figure(1, 3, figsize=(15.0, 4.4))
    rates = [s.offered_events_per_s for s in report.steps]
    for key in ("p50", "p95", "p99"):
        ax_lat.plot(rates, nan_for_none([s.latency_ms.get(key) for s in report.steps]),
                    marker="o", label=key)  # fmt: skip
    log_latency_axis(ax_lat)
    ax_tput.plot(rates, rates, label="offered (achieved = offered)", **REFERENCE)
    ax_tput.plot(rates, [s.achieved_events_per_s for s in report.steps], marker="s",
                 color="tab:blue", label="achieved")  # fmt: skip
    ax_tput.set_ylabel("achieved events/s")
    ax_lag.plot(rates, [s.lag_end for s in report.steps], marker="o", color="tab:red",
                label="lag at step end")  # fmt: skip
    ax_lag.set_ylabel("lag at step end (events)")
    from_zero(ax_tput, ax_lag)
    saturation = "saturation" + (" (lower bound)" if report.saturation_is_lower_bound else "")
    for ax in (ax_lat, ax_tput, ax_lag):
        ax.set_xlabel("offered events/s")
        ax.grid(alpha=0.3)
        if report.saturation_events_per_s:
            ax.axvline(report.saturation_events_per_s, linestyle="-.", color="dimgrey",
                       linewidth=0.9, label=saturation)  # fmt: skip
        legend_outside(ax)
    seconds = report.extra.get("step_seconds")
    steps = f"steps of {seconds:g} s" if seconds else "steps"
    title(fig, f"StreamRec load test, {report.consumers} consumer(s), {steps}: "
               f"{describe_saturation(report)}\nlatency, throughput and lag against the offered "
               "rate")  # fmt: skip
    return fig


def plot_report(report: LoadTestReport, path: Path) -> None:
    """Write ``report_figure`` as a PNG at ``path``."""
    save(report_figure(report), path)


def describe_saturation(report: LoadTestReport) -> str:
    """The saturation throughput in words, as a bound when the steps did not find it; the p99
    at fractions of it when those steps ran."""
    text = _saturation_words(report)
    fractions = describe_fractions(report.extra.get("at_saturation_fractions") or [])
    return f"{text}; {fractions}" if fractions else text


def _saturation_words(report: LoadTestReport) -> str:
    rate = report.saturation_events_per_s
    if report.saturation_is_lower_bound:
        return f"saturation: at least {rate:,.0f} events/s (every step kept up)"
    if not any(step.keeps_up for step in report.steps):
        first = report.steps[0].offered_events_per_s if report.steps else 0.0
        return f"saturation: below {first:,.0f} events/s (the first step fell behind)"
    return f"saturation throughput: {rate:,.0f} events/s"


def run_loadtest(
    settings: Settings,
    rates: list[float],
    step_seconds: float,
    consumers: int,
    out_dir: Path,
    console: Console,
    window_s: float = 0.0,
    fractions: tuple[float, ...] = (),
    repeats: int = 1,
) -> tuple[LoadTestReport, Path, Path]:
    """Start what is needed, warm the consumers up, run the steps, then (when the steps found
    the saturation) a step at each of ``fractions`` of it, ``repeats`` times each; write the
    JSON, the step plot and the over-time plot (windows of ``window_s``; 0: about 30); returns
    (report, json, step plot)."""
    phases = PhaseClock(console)
    with load_pipeline(settings, consumers, console) as pipe:
        producer = ClickProducer(pipe.settings)
        client, names = wait_for_redis(pipe.settings), Names(pipe.settings.namespace)
        sessions = replay_sessions(pipe.settings, held_out_only=True)
        sampler = load_sampler(pipe.consumers, client, names, producer)
        sampler.start()
        phases.begin("warm-up")
        warmup = warm_up(pipe.settings, producer, sessions, rates[0], console)
        phases.begin("steps")
        steps = run_steps(
            pipe.settings, rates, step_seconds, pipe.consumers, pipe.pids(), producer, console,
            sessions,
        )  # fmt: skip
        samples = sampler.stop()
        phases.begin("shutdown", f"stopping {consumers} consumer(s) and the servers")
    plan, at_fractions = fraction_plan(steps, fractions), []
    if plan is not None:
        # Each on fresh servers and consumers: after a step that fell behind, the embedded
        # broker served the next steps' fetches at a few events/s (measured), whatever their
        # rate, and its cost per event grows with what it holds.
        phases.begin("fractions", "steps at fractions of the measured saturation, each on a "
                     "fresh pipeline")  # fmt: skip
        rates = [rate for rate in plan.rates.values() for _ in range(repeats)]
        at_fractions = fraction_rows(
            plan, fraction_steps(settings, rates, step_seconds, consumers, len(steps), console),
            repeats,
        )  # fmt: skip
    phases.begin("oracle")
    oracle = oracle_hit_at_10(sessions, console)
    phases.begin("windows")
    kept_up = [s.offered_events_per_s for s in steps if s.keeps_up]
    window_s = window_s or auto_window(samples[-1].t - samples[0].t, SCRAPE_INTERVAL_S)
    report = LoadTestReport(
        steps=steps,
        saturation_events_per_s=max(kept_up, default=0.0),
        saturation_is_lower_bound=len(kept_up) == len(steps),
        backend=pipe.backend,
        consumers=consumers,
        model=str(pipe.model_path),
        extra={"step_seconds": step_seconds, "partitions": pipe.settings.partitions,
               "cpu_count": os.cpu_count(), "over_time_png": str(out_dir / OVER_TIME_PNG),
               "oracle_hit_at_10": oracle, "warmup": warmup,
               "at_saturation_fractions": at_fractions, "saturation_repeats": repeats},
        window_s=window_s,
        windows=load_windows(samples, window_s),
    )  # fmt: skip
    report.extra["timings_s"] = rounded(phases.timings())  # every phase before the files
    console.print(f"writing the report and plots to {out_dir} ...", markup=False, highlight=False)
    json_path, png_path = write_report(report.to_json(), report.windows, out_dir, consumers, oracle)
    plot_report(report, png_path)
    return report, json_path, png_path
