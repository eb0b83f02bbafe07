"""A load test over time: per window, what was offered, sent, achieved, how long events took,
the lag, and the online metrics.

``load_sampler`` samples every ``SCRAPE_INTERVAL_S`` (overtime's ``ScrapeSampler``): the
consumers' online counters and latency histogram from their /metrics, the producer's count of
events queued, and the events with an outcome in Redis (exact). ``load_windows`` cuts the
samples as ``overtime.windows`` does, so the windows add up to the run's totals. Per window:

- offered events/s: the schedule's due times in the window (a clock-driven run; None in a
  step run, whose offered rate is per step);
- sent events/s: queued by the producer; achieved events/s: given an outcome by the consumers;
- latency p50/p99: of the latency histogram's observations made in the window;
- lag at its end: events queued and not yet given an outcome;
- online Hit@10 and MRR@20 (``overtime.Window``).

Every rate is over the time between the two samples that bound the window; the last window,
cut short by the end of the run, is ``partial``.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from streamrec.clients import RedisClient
from streamrec.consumer.telemetry import LATENCY_HISTOGRAM
from streamrec.consumer.totals import read_totals
from streamrec.contract.names import Names
from streamrec.pipeline.latency import significant
from streamrec.pipeline.overtime import (
    CounterSample,
    ScrapeSampler,
    Window,
    sample_texts,
    window_between,
    window_cuts,
)
from streamrec.pipeline.processes import ConsumerProcess, metrics_texts
from streamrec.pipeline.prometheus import SCRAPE_INTERVAL_S
from streamrec.pipeline.scrape import bucket_delta, histogram_buckets, quantile_from_buckets
from streamrec.producer.replay import ClickProducer

Buckets = dict[float, float]  # cumulative histogram buckets: upper bound -> count


@dataclass(frozen=True)
class LoadSample:
    """One moment of a load test: cumulative counts, all consumers together."""

    counters: CounterSample  # online evaluations, hits, reciprocal ranks; its ``t``
    latency: Buckets  # the event latency histogram
    queued: int  # events the producer has queued
    accounted: int  # events with an outcome in Redis

    @property
    def t(self) -> float:
        """Wall-clock time of the sample."""
        return self.counters.t


def latency_ms(
    after: Buckets, before: Buckets, quantiles: Sequence[float] = (0.5, 0.99)
) -> dict[str, float | None]:
    """Latency quantiles in ms (``p50``, ...) of the observations between two readings of the
    latency histogram, to three significant figures (``latency.significant``: the buckets
    hold no more); None without observations."""
    delta = bucket_delta(after, before)
    out: dict[str, float | None] = {}
    for q in quantiles:
        value = quantile_from_buckets(delta, q)
        out[f"p{round(q * 100)}"] = None if value is None else significant(value * 1000)
    return out


def load_sampler(
    consumers: list[ConsumerProcess], client: RedisClient, names: Names, producer: ClickProducer
) -> ScrapeSampler[LoadSample]:
    """A sampler of ``LoadSample``s (start it when the load starts)."""

    def read(t: float, texts: list[str]) -> LoadSample:
        queued = producer.queued  # first: an event with an outcome in Redis was queued before
        accounted = read_totals(client, names).accounted
        buckets = histogram_buckets(texts, LATENCY_HISTOGRAM)
        return LoadSample(sample_texts(t, texts), buckets, queued, accounted)

    return ScrapeSampler(lambda: metrics_texts(consumers), SCRAPE_INTERVAL_S, read)


@dataclass(frozen=True)
class LoadWindow:
    """One window of a load test (see the module docstring)."""

    online: Window  # its span (seconds since the first sample), online metrics, ``seconds``
    offered_events_per_s: float | None
    sent_events_per_s: float | None
    achieved_events_per_s: float | None
    latency_ms: dict[str, float | None]
    lag: int

    @property
    def seconds(self) -> float:
        """Between the samples that bound the window; the rates are over this time."""
        return self.online.seconds

    def to_json(self) -> dict[str, Any]:
        """One entry of the report's ``windows`` list."""
        online = self.online.to_json()
        return {
            "start_s": online.pop("start_s"),
            "end_s": online.pop("end_s"),
            "seconds": online.pop("seconds"),
            "partial": online.pop("partial"),
            "offered_events_per_s": self.offered_events_per_s,
            "sent_events_per_s": self.sent_events_per_s,
            "achieved_events_per_s": self.achieved_events_per_s,
            "latency_ms": self.latency_ms,
            "lag": self.lag,
            **online,
        }

    @classmethod
    def from_json(cls, row: dict[str, Any], window_s: float | None = None) -> LoadWindow:
        """The window of one report ``windows`` entry (``Window.from_json`` on ``window_s``)."""
        return cls(
            online=Window.from_json(row, window_s),
            offered_events_per_s=row.get("offered_events_per_s"),
            sent_events_per_s=row.get("sent_events_per_s"),
            achieved_events_per_s=row.get("achieved_events_per_s"),
            latency_ms=dict(row.get("latency_ms", {})),
            lag=int(row.get("lag", 0)),
        )


def _per_s(count: float, seconds: float) -> float | None:
    return round(count / seconds, 1) if seconds > 0 else None


def load_windows(
    samples: Sequence[LoadSample],
    window_s: float,
    dues: Sequence[float] | None = None,
    clock_started: float = 0.0,
) -> list[LoadWindow]:
    """The run in windows of ``window_s`` from the first sample. ``dues``: the schedule's due
    times in increasing order (seconds after ``clock_started``, a wall-clock time), for the
    offered rate."""
    ordered = sorted(samples, key=lambda s: s.t)
    out = []
    for start, end, i, j in window_cuts([s.t for s in ordered], window_s):
        first, last = ordered[i], ordered[j]
        seconds = last.t - first.t
        offered = None
        if dues is not None:
            due_in = bisect.bisect_right(dues, last.t - clock_started) - bisect.bisect_right(
                dues, first.t - clock_started
            )
            offered = _per_s(due_in, seconds)
        partial = end - start < window_s - 1e-9
        out.append(
            LoadWindow(
                online=window_between(first.counters, last.counters, start, end, partial),
                offered_events_per_s=offered,
                sent_events_per_s=_per_s(last.queued - first.queued, seconds),
                achieved_events_per_s=_per_s(last.accounted - first.accounted, seconds),
                latency_ms=latency_ms(last.latency, first.latency),
                lag=max(last.queued - last.accounted, 0),
            )
        )
    return out
