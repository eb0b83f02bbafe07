"""Watching a run's online metrics from outside the consumers: what Prometheus's recording
rules say at the end, and the counters over time (Prometheus range queries, or the
consumers' /metrics sampled directly when no Prometheus runs)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from streamrec.contract.names import PRIMARY
from streamrec.pipeline.overtime import (
    CounterSample,
    OracleLine,
    ScrapeSampler,
    Window,
    auto_window,
    sample_texts,
    samples_from_prometheus,
    wait_for_evaluations,
    windows_by_model,
)
from streamrec.pipeline.overtime_plot import plot_over_time
from streamrec.pipeline.processes import ConsumerProcess, metrics_texts
from streamrec.pipeline.prometheus import SCRAPE_INTERVAL_S, EmbeddedPrometheus, write_targets
from streamrec.pipeline.promql import (
    PromClient,
    PrometheusQueryError,
    PrometheusReading,
    final_reading,
    wait_for_targets,
)

TARGETS_NAME = "demo"


def metrics_address(consumer: ConsumerProcess) -> str:
    """``host:port`` of a consumer's /metrics (Prometheus's ``instance`` label)."""
    return consumer.metrics_url.split("//", 1)[1].split("/", 1)[0]


@dataclass
class WatchResult:
    """What the watch saw: Prometheus's final reading (or why there is none) and samples."""

    prometheus: PrometheusReading | None
    prometheus_note: str
    source: str  # "prometheus" or "scrape"
    samples: list[CounterSample]
    consumer_evaluations: int  # the consumers' own final counter
    targets_wait_s: float = 0.0  # set-up time spent waiting for Prometheus's first scrapes
    window_s: float = 0.0
    series: list[Window] = field(default_factory=list)  # the primary model's
    others: dict[str, list[Window]] = field(default_factory=dict)  # a shadow's or A/B arm's
    png: Path | None = None

    def prometheus_json(self) -> dict[str, Any]:
        """The summary's ``prometheus`` object: the rules' figures, or nulls and the reason."""
        if self.prometheus is None:
            return {"hit_at_10": None, "reason": self.prometheus_note}
        return {**self.prometheus.to_json(), "targets_wait_s": round(self.targets_wait_s, 2)}

    def over_time_json(self) -> dict[str, Any]:
        """The summary's ``over_time`` object: the windows behind the PNG (the primary
        model's; a second model's under ``other_models``, by its label)."""
        return {
            "source": self.source,
            "window_s": self.window_s,
            "png": None if self.png is None else str(self.png),
            "windows": [w.to_json() for w in self.series],
            **(
                {"other_models": {m: [w.to_json() for w in ws] for m, ws in self.others.items()}}
                if self.others
                else {}
            ),
        }

    @property
    def duration_s(self) -> float:
        """Seconds from the first sample to the last (0 without samples)."""
        return self.samples[-1].t - self.samples[0].t if self.samples else 0.0

    def plot(
        self,
        path: Path,
        window_s: float,
        title: str,
        oracle: OracleLine | None = None,
        marker_s: float | None = None,
        names: Mapping[str, str] | None = None,
    ) -> None:
        """Cut the samples into windows (``window_s``; 0: about 30 windows), each model's,
        and plot them (with ``plot_over_time``'s ``oracle`` line, ``marker_s`` and legend
        ``names``)."""
        self.window_s = window_s or auto_window(self.duration_s, SCRAPE_INTERVAL_S)
        by_model = windows_by_model(self.samples, self.window_s)
        self.series = by_model.get(PRIMARY, [])
        self.others = {m: ws for m, ws in by_model.items() if m != PRIMARY}
        plot_over_time(by_model, path, title, oracle, marker_s, names=names)
        self.png = path


class OnlineWatch:
    """Started once the consumers have joined the group, finished once they drained."""

    def __init__(
        self, consumers: list[ConsumerProcess], prometheus: EmbeddedPrometheus | None, note: str
    ) -> None:
        self.consumers = consumers
        self.prometheus = prometheus
        self.note = note
        self.client = None if prometheus is None else PromClient(prometheus.url)
        self.sampler: ScrapeSampler[CounterSample] | None = None
        self.started = 0.0
        self.targets_wait_s = 0.0  # how long begin() waited for Prometheus's first scrapes

    def _texts(self) -> list[str] | None:
        return metrics_texts(self.consumers)

    def announce(self) -> None:
        """List the consumers for Prometheus's file discovery. Call it as soon as they are
        started: Prometheus hands discovered targets to its scrapers every 5 s, which then
        overlaps the consumers' own start-up."""
        if self.prometheus is not None:
            addresses = [metrics_address(c) for c in self.consumers]
            write_targets(self.prometheus.targets_dir, TARGETS_NAME, addresses)

    def begin(self, timeout: float) -> None:
        """Wait until Prometheus scrapes every consumer (or, without Prometheus, start
        sampling them); the run's first sample is now."""
        mark = time.monotonic()
        if self.prometheus is not None and self.client is not None:
            self.announce()  # idempotent: the same file again
            try:
                wait_for_targets(self.client, [metrics_address(c) for c in self.consumers], timeout)
            except (TimeoutError, PrometheusQueryError) as exc:
                self._drop_prometheus(str(exc))
        self.targets_wait_s = time.monotonic() - mark
        if self.prometheus is None:
            self.sampler = ScrapeSampler(self._texts, SCRAPE_INTERVAL_S, sample_texts)
            self.sampler.start()
        self.started = time.time()

    def _drop_prometheus(self, why: str) -> None:
        self.prometheus, self.client, self.note = None, None, why

    def final_doing(self) -> str:
        """What ``finish`` waits for, as the demo says it."""
        if self.prometheus is not None:
            return (
                "waiting for Prometheus's final scrape of the consumers and its recording "
                f"rules (every {SCRAPE_INTERVAL_S:g}s)"
            )
        return "reading the consumers' final metrics"

    def finish(self, timeout: float, expected_evaluations: int) -> WatchResult:
        """After the drain: the consumers' final counters, Prometheus's rules once it has
        scraped them, and the samples of the run.

        ``expected_evaluations``: the primary's exact count in Redis. A consumer counts a
        batch in its metrics just after the batch's Redis write, so right after the drain its
        counter can still be one batch short: wait until it has caught up."""
        evaluations = wait_for_evaluations(self._texts, expected_evaluations, timeout)
        if self.sampler is not None:
            samples = self.sampler.stop(timeout)
            return WatchResult(None, self.note, "scrape", samples, evaluations)
        assert self.client is not None
        try:
            reading = final_reading(self.client, evaluations, timeout)
            samples = samples_from_prometheus(
                self.client, self.started, time.time(), SCRAPE_INTERVAL_S
            )
            if round(samples[-1].evaluations) != evaluations:
                raise PrometheusQueryError(
                    f"Prometheus's range query ends at {samples[-1].evaluations:.0f} online "
                    f"evaluations, not the consumers' {evaluations}"
                )
        except (TimeoutError, PrometheusQueryError) as exc:
            return WatchResult(None, str(exc), "none", [], evaluations)
        return WatchResult(
            reading, "", "prometheus", samples, evaluations, targets_wait_s=self.targets_wait_s
        )
