"""A load test's warm-up, and its steps at fractions of the measured saturation.

Warm-up: before the first measured step, the consumers serve a few seconds of traffic at the
first step's rate, and the run waits until every warm-up event has an outcome. A consumer's
first batches pay for lazy work (the first forward passes, Redis script loading, the broker's
first fetches); measured inside a step, that stall and the backlog it leaves behind were the
step's p99 (issue 21: 192-209 ms in one harness, 78 ms in another at the same rate, where the
only difference was what had run just before). The step figures start after it, so they
describe the steady state.

Fractions: a p99 in milliseconds holds only on the machine that measured it. The p99 at a
stated fraction of the saturation throughput measured in the same run (50% and 80% by
default) travels better: after the steps find where the consumers fall behind, the fractions
are offered as steps, each on a fresh pipeline (new servers and consumers, warmed up: behind a
step that fell behind, the embedded broker was measured serving a few events/s for minutes,
and its CPU per event grows with the data it holds, ``bench/broker_growth.py``), and their
latency is reported beside the absolute rates.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from rich.console import Console

from streamrec.clients import wait_for_redis
from streamrec.config import Settings
from streamrec.consumer.totals import read_totals
from streamrec.contract.names import Names
from streamrec.pipeline.latency import significant
from streamrec.producer.replay import ClickProducer
from streamrec.producer.sources import ReplaySessions

WARMUP_SECONDS = 3.0
WARMUP_DRAIN_TIMEOUT_S = 120.0


def warm_up(
    settings: Settings,
    producer: ClickProducer,
    sessions: ReplaySessions,
    rate: float,
    console: Console,
    seconds: float = WARMUP_SECONDS,
) -> dict[str, Any]:
    """Offer ``rate`` events/s for ``seconds`` (session-id round 0, which no step uses) and
    wait until every event has an outcome; what was sent and how long the drain took."""
    client, names = wait_for_redis(settings), Names(settings.namespace)
    before = read_totals(client, names).accounted
    console.print(f"warm-up: {rate:,.0f} events/s for {seconds:g}s, not measured ...",
                  markup=False, highlight=False)  # fmt: skip
    started = time.monotonic()
    result = producer.replay(sessions, rate=rate, limit=int(rate * seconds), rounds=0, seed=0)
    if result.failed:
        raise RuntimeError(f"{result.failed} warm-up events were not acknowledged by the broker")
    sent_at = time.monotonic()
    wait_until_accounted(settings, before + result.sent, "warm-up events")
    return {
        "rate": rate,
        "events": result.sent,
        "send_seconds": round(sent_at - started, 2),
        "drain_seconds": round(time.monotonic() - sent_at, 2),
    }


def wait_until_accounted(settings: Settings, events: int, what: str = "events") -> None:
    """Poll until the consumers have given ``events`` events in all an outcome
    (``RuntimeError`` after ``WARMUP_DRAIN_TIMEOUT_S``)."""
    client, names = wait_for_redis(settings), Names(settings.namespace)
    deadline = time.monotonic() + WARMUP_DRAIN_TIMEOUT_S
    while (accounted := read_totals(client, names).accounted) < events:
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"the consumers had {accounted:,} of {events:,} {what} done "
                f"{WARMUP_DRAIN_TIMEOUT_S:g}s after the last one was sent"
            )
        time.sleep(0.05)


@dataclass(frozen=True)
class FractionPlan:
    """Rates to offer after the steps: each fraction of the measured saturation."""

    saturation: float  # the highest throughput the steps achieved (events/s)
    rates: dict[float, float]  # fraction -> offered events/s


def fraction_plan(steps: list[Any], fractions: tuple[float, ...]) -> FractionPlan | None:
    """The fraction steps, when the steps measured a saturation: the last one fell behind, and
    the highest throughput any step achieved is the capacity. None when every step kept up
    (the saturation is only a lower bound) or no fraction is asked for."""
    if not fractions or not steps or steps[-1].keeps_up:
        return None
    capacity = max(step.achieved_events_per_s for step in steps)
    if capacity <= 0:
        return None
    return FractionPlan(capacity, {f: round(f * capacity, 1) for f in fractions})


def fraction_rows(plan: FractionPlan, steps: list[Any], repeats: int = 1) -> list[dict[str, Any]]:
    """One row per fraction: its rate and the latency its steps measured (``steps``, in the
    plan's order, ``repeats`` consecutive runs per fraction): the median p50 and p99 of the
    runs, and each run's p99."""
    rows = []
    for index, (fraction, rate) in enumerate(plan.rates.items()):
        runs = steps[index * repeats : (index + 1) * repeats]
        p99s = [step.latency_ms.get("p99") for step in runs]
        rows.append({
            "fraction": fraction,
            "offered_events_per_s": rate,
            "saturation_events_per_s": plan.saturation,
            "p50_ms": median_of([step.latency_ms.get("p50") for step in runs]),
            "p99_ms": median_of(p99s),
            "p99_runs_ms": p99s,
            "keeps_up": all(step.keeps_up for step in runs),
        })  # fmt: skip
    return rows


def median_of(values: list[float | None]) -> float | None:
    """The median of the values that are known (None when none is), to 3 significant figures."""
    known = sorted(v for v in values if v is not None)
    if not known:
        return None
    middle = len(known) // 2
    value = known[middle] if len(known) % 2 else (known[middle - 1] + known[middle]) / 2
    return significant(value)


def describe_fractions(rows: list[dict[str, Any]]) -> str:
    """The fraction steps in one line (p99 at each fraction, with its rate)."""
    if not rows:
        return ""
    parts = [
        f"p99 {r['p99_ms']} ms at {r['fraction']:.0%} ({r['offered_events_per_s']:,.0f} ev/s)"
        + _spread(r.get("p99_runs_ms") or [])
        for r in rows
    ]
    return f"of the measured saturation ({rows[0]['saturation_events_per_s']:,.0f} ev/s): " + (
        ", ".join(parts)
    )


def _spread(p99s: list[float | None]) -> str:
    """`` (median of 3 runs: 34.9-66.6 ms)`` for repeated runs; nothing for one."""
    known = [v for v in p99s if v is not None]
    if len(p99s) < 2 or not known:
        return ""
    return f" (median of {len(p99s)} runs: {min(known)}-{max(known)} ms)"
