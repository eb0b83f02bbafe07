"""Broker requests, broker CPU and Kafka-path latency of the consumer's Kafka traffic alone.

For each fetch wait (``fetch.wait.max.ms``) and each number of consumers, on one fresh
embedded broker: N group members, configured exactly as ``streamrec consume`` configures its
clients (``streamrec.clients``), do the consumer's Kafka work and nothing else: poll a batch,
produce one output per event and flush (acks=all), commit every 0.25 s. A click producer
offers ``--rate`` events/s for ``--seconds``. Measured per run, from librdkafka statistics
(consumer side: the embedded broker exposes no request counts) and /proc:
- requests/s sent to the broker by the consumers, by API (Fetch, Produce, OffsetCommit, ...);
- broker CPU (cores) and broker CPU milliseconds per 1,000 events;
- latency of the Kafka path: event timestamp to its output acknowledged, p50/p99.
No Redis and no model: this isolates what the Kafka settings cost and what latency they add.

    python bench/broker_requests.py [--waits 10,25,50,100] [--consumers 1,2,4] [--rate 2000]
        [--seconds 8] [--partitions 8] [--linger-ms 10] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import threading
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from confluent_kafka import Consumer, Producer, TopicPartition

from streamrec.clients import (
    CLICK_LINGER_MS,
    click_consumer_config,
    ensure_topics,
    output_producer_config,
)
from streamrec.config import MAX_FETCH_WAIT_MS, Settings
from streamrec.contract.names import Names
from streamrec.pipeline.bench import embedded_pipeline, save_results
from streamrec.pipeline.process_cpu import cpu_seconds
from streamrec.producer.replay import ClickProducer

RESULTS = Path(__file__).parent / "results"
COMMIT_EVERY_S = 0.25


class Member:
    """One group member doing the consumer's Kafka work in a thread."""

    def __init__(
        self, settings: Settings, names: Names, outputs: Sequence[bytes] = (b"{}",)
    ) -> None:
        """``outputs``: the bodies produced for the events, in turn (default: ``{}``)."""
        self.names = names
        self.outputs = outputs
        self.stats: list[dict[str, Any]] = []  # the consumer's librdkafka statistics
        self.output_stats: list[dict[str, Any]] = []  # its output producer's
        self.latencies: list[float] = []
        self.events = 0
        self.assigned = 0  # partitions held now (set by the rebalance callbacks)
        self.stop = threading.Event()
        self.consumer = Consumer(
            click_consumer_config(
                settings, **{"statistics.interval.ms": 500, "stats_cb": self._on_stats}
            )
        )
        self.producer = Producer(
            output_producer_config(
                settings, **{"statistics.interval.ms": 500, "stats_cb": self._on_output_stats}
            )
        )
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _on_stats(self, text: str) -> None:
        self.stats.append(json.loads(text))

    def _on_output_stats(self, text: str) -> None:
        self.output_stats.append(json.loads(text))

    def _on_assign(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self.assigned = len(partitions)

    def _on_revoke(self, _consumer: Consumer, _partitions: list[TopicPartition]) -> None:
        self.assigned = 0

    def _run(self) -> None:
        self.consumer.subscribe(
            [self.names.clicks], on_assign=self._on_assign, on_revoke=self._on_revoke
        )
        pending: dict[int, int] = {}
        next_commit = 0.0
        while not self.stop.is_set():
            first = self.consumer.poll(0.05)
            batch = [first, *self.consumer.consume(499, 0)] if first is not None else []
            good = [m for m in batch if m.error() is None]
            for i, msg in enumerate(good):
                body = self.outputs[(self.events + i) % len(self.outputs)]
                self.producer.produce(self.names.recommendations, key=msg.key(), value=body)
            if good:
                self.producer.flush(10)
                done = time.time()
                for msg in good:
                    self.latencies.append(done - json.loads(msg.value() or b"{}")["ts"])
                    pending[msg.partition() or 0] = (msg.offset() or 0) + 1
                self.events += len(good)
            else:
                self.producer.poll(0)  # serves its statistics callback
            if pending and time.monotonic() >= next_commit:
                offsets = [TopicPartition(self.names.clicks, p, o) for p, o in pending.items()]
                self.consumer.commit(offsets=offsets, asynchronous=True)
                pending.clear()
                next_commit = time.monotonic() + COMMIT_EVERY_S
        self.consumer.close()


def broker_requests(stats: list[dict[str, Any]], since_us: int) -> tuple[dict[str, int], float]:
    """Requests by API sent to the brokers between the first statistics at or after
    ``since_us`` (librdkafka's monotonic ``ts``) and the last; and the seconds between."""
    window = [s for s in stats if s["ts"] >= since_us]
    if len(window) < 2:
        return {}, 0.0

    def counts(s: dict[str, Any]) -> dict[str, int]:
        out: dict[str, int] = {}
        for broker in s["brokers"].values():
            for api, n in broker.get("req", {}).items():
                out[api] = out.get(api, 0) + n
        return out

    first, last = counts(window[0]), counts(window[-1])
    delta = {api: last[api] - first.get(api, 0) for api in last if last[api] > first.get(api, 0)}
    return delta, (window[-1]["ts"] - window[0]["ts"]) / 1e6


def one_run(bench: Any, broker_pid: int, wait_ms: int, n: int, args: argparse.Namespace,
            run_no: int) -> dict[str, Any]:  # fmt: skip
    """N members at one fetch wait; the measured figures."""
    run_id = uuid.uuid4().hex[:8]  # topics of its own: a new group reads from the start
    settings = bench.settings.with_overrides(
        {"fetch_wait_ms": wait_ms, "group": f"req-{run_id}", "namespace": f"req-{run_id}"}
    )
    ensure_topics(settings)
    members = [Member(settings, Names(settings.namespace)) for _ in range(n)]
    for m in members:
        m.thread.start()
    deadline = time.monotonic() + 60
    while sum(m.assigned for m in members) < args.partitions or min(
        m.assigned for m in members
    ) < min(1, args.partitions // n):
        if time.monotonic() > deadline:
            raise SystemExit("broker_requests: the group did not share the partitions in 60 s")
        time.sleep(0.1)
    time.sleep(1.0)  # the assignment's first fetches settle before the window opens
    since_us = max(m.stats[-1]["ts"] if m.stats else 0 for m in members)
    click_stats: list[dict[str, Any]] = []
    producer = ClickProducer(settings, **{
        "linger.ms": args.linger_ms, "statistics.interval.ms": 500,
        "stats_cb": lambda text: click_stats.append(json.loads(text)),
    })  # fmt: skip
    cpu_before, started = cpu_seconds(broker_pid), time.monotonic()
    before = sum(m.events for m in members)
    result = producer.replay(
        bench.sessions, rate=args.rate, limit=int(args.rate * args.seconds), rounds=0,
        seed=run_no, first_round=(run_no + 1) * 1000,
    )  # fmt: skip
    elapsed = time.monotonic() - started
    cpu_after = cpu_seconds(broker_pid)
    deadline = time.monotonic() + 30
    while sum(m.events for m in members) - before < result.sent and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.2)  # two more statistics intervals
    for m in members:
        m.stop.set()
    for m in members:
        m.thread.join(15)
    by_api: dict[str, float] = {}
    for stats in [s for m in members for s in (m.stats, m.output_stats)]:
        delta, seconds = broker_requests(stats, since_us)
        for api, count in delta.items():
            by_api[api] = by_api.get(api, 0) + count / seconds
    click_delta, click_s = broker_requests(click_stats, 0)
    click_produce = click_delta.get("Produce", 0) / click_s if click_s else 0.0
    latencies = np.array([x for m in members for x in m.latencies]) * 1000
    broker_cores = ((cpu_after or 0.0) - (cpu_before or 0.0)) / elapsed
    return {
        "fetch_wait_ms": wait_ms,
        "consumers": n,
        "events": result.sent,
        "consumer_requests_per_s": round(sum(by_api.values()), 1),
        "consumer_requests_per_s_by_api": {k: round(v, 1) for k, v in sorted(by_api.items())},
        "click_producer_requests_per_s": round(click_produce, 1),
        "broker_cores": round(broker_cores, 3),
        "broker_cpu_ms_per_1k_events": round(broker_cores * 1e6 / args.rate, 1),
        "latency_ms": {
            "p50": round(float(np.percentile(latencies, 50)), 1) if latencies.size else None,
            "p99": round(float(np.percentile(latencies, 99)), 1) if latencies.size else None,
        },
    }


def describe(run: dict[str, Any]) -> str:
    """One run as one line."""
    lat = run["latency_ms"]
    return (
        f"wait {run['fetch_wait_ms']:>4} ms, {run['consumers']} consumer(s): consumers "
        f"{run['consumer_requests_per_s']} req/s {run['consumer_requests_per_s_by_api']}, "
        f"click producer {run['click_producer_requests_per_s']} req/s, broker "
        f"{run['broker_cores']} cores = {run['broker_cpu_ms_per_1k_events']} ms/1k events, "
        f"Kafka-path latency p50 {lat['p50']} p99 {lat['p99']} ms"
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line, validated (one-line errors, exit 2)."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--waits", default="10,25,50,100", help="fetch.wait.max.ms values")
    ap.add_argument("--consumers", default="1,2,4", help="group sizes")
    ap.add_argument("--rate", type=float, default=2000.0, help="offered events/s")
    ap.add_argument("--seconds", type=float, default=8.0, help="seconds offered per run")
    ap.add_argument("--partitions", type=int, default=8)
    ap.add_argument(
        "--linger-ms",
        type=int,
        default=CLICK_LINGER_MS,
        help="the click producer's linger.ms (default: %(default)s, as streamrec)",
    )
    ap.add_argument("--json", action="store_true", help="last stdout line: all runs as JSON")
    ap.add_argument("--out", type=Path, default=RESULTS / "broker-requests.json")
    args = ap.parse_args(argv)
    try:
        args.waits = [int(w) for w in args.waits.split(",")]
        args.consumers = [int(c) for c in args.consumers.split(",")]
    except ValueError:
        ap.error("--waits and --consumers take comma-separated whole numbers")
    if not all(1 <= w <= MAX_FETCH_WAIT_MS for w in args.waits):
        ap.error(f"--waits must be in 1..{MAX_FETCH_WAIT_MS}")
    if not all(1 <= c <= args.partitions for c in args.consumers):
        ap.error("--consumers must be between 1 and --partitions")
    if args.rate <= 0 or args.seconds <= 0 or args.partitions < 1 or args.linger_ms < 0:
        ap.error("need --rate > 0, --seconds > 0, --partitions >= 1, --linger-ms >= 0")
    return args


def main() -> None:
    """Run every (wait, consumers) pair on one embedded broker; print a table and JSON."""
    args = parse_args()
    runs: list[dict[str, Any]] = []
    with embedded_pipeline("brokerreq", partitions=args.partitions) as bench:
        broker_pid = bench.pids["broker"]
        for wait_ms in args.waits:
            for n in args.consumers:
                run = one_run(bench, broker_pid, wait_ms, n, args, len(runs))
                runs.append(run)
                print(describe(run), flush=True)
    out = {
        "runs": runs,
        "rate": args.rate,
        "seconds": args.seconds,
        "partitions": args.partitions,
        "linger_ms": args.linger_ms,
        "loadavg_1m": round(os.getloadavg()[0], 2),
    }
    save_results(out, args.out, args.json)


if __name__ == "__main__":
    main()
