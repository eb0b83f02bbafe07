"""Pipeline throughput against its ceilings, measured in one run on the embedded servers.

1. pipeline: one consumer process drains a topic pre-filled with held-out click events
   (decode, Redis read, score, conditional Lua writes, recommendations, commit);
2. kafka ceiling: a bare confluent-kafka consumer reading the same events, no processing;
3. redis ceiling: the same number of events as pipelined round trips (one HMGET per session
   and one HSET per event, batches of ``--batch`` events), no scripts;
4. scorer ceiling: the scorer alone on the same prefixes, in batches of ``--batch``, at
   ``--threads`` torch threads, in this process.
The consumer's CPU time (user + system, all its threads, from /proc) over the drain gives its
events per CPU-second, compared with the scorer alone's events per CPU-second of this process
(``consumer_events_per_cpu_s_over_scorer``; on a shared machine the wall rates of both lose
what other processes take, CPU time does not) and per wall second (``..._wall``). Prints
pipeline / each ceiling, writes bench/results/pipeline.json, and prints the same figures as
one JSON object on the last line.

    python bench/pipeline.py [--events 40000] [--model artifacts/model.pt] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import os
import time
import uuid
from pathlib import Path

import torch
from confluent_kafka import Consumer

from streamrec.clients import kafka_config, redis_client
from streamrec.config import SCORING_MODES, Settings
from streamrec.consumer.serving import ServedModel
from streamrec.consumer.totals import read_totals
from streamrec.contract.names import Names
from streamrec.pipeline.bench import embedded_pipeline
from streamrec.pipeline.process_cpu import cpu_seconds
from streamrec.pipeline.processes import start_consumers, stop_consumers, wait_for_assignment
from streamrec.producer.replay import interleave

RESULTS = Path(__file__).parent / "results"


def kafka_ceiling(settings: Settings, topic: str, n_events: int, batch: int) -> float:
    """Events/s of a bare consumer reading ``n_events`` from ``topic``."""
    consumer = Consumer(kafka_config(settings, **{
        "group.id": f"raw-{uuid.uuid4().hex}", "auto.offset.reset": "earliest",
        "enable.auto.commit": False, "fetch.wait.max.ms": 20,
    }))  # fmt: skip
    consumer.subscribe([topic])
    seen = 0
    started: float | None = None
    deadline = time.monotonic() + 300
    while seen < n_events and time.monotonic() < deadline:
        messages = consumer.consume(batch, 0.5)
        if messages and started is None:
            started = time.monotonic()
        seen += sum(1 for m in messages if m.error() is None)
    elapsed = time.monotonic() - (started or time.monotonic())
    consumer.close()
    return seen / elapsed if elapsed > 0 else 0.0


def main() -> None:
    """Run the benchmark and write its JSON."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--events", type=int, default=40_000)
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--model", type=Path, default=Path("artifacts/model.pt"))
    ap.add_argument("--threads", type=int, default=1, help="torch threads (consumer and scorer)")
    ap.add_argument("--scoring", choices=SCORING_MODES, default="incremental")
    ap.add_argument("--out", type=Path, default=RESULTS / "pipeline.json")
    args = ap.parse_args()
    if args.events < 1000 or args.batch < 1 or args.threads < 1:
        ap.error("need --events >= 1000, --batch >= 1, --threads >= 1")
    if not args.model.is_file():
        ap.error(f"no checkpoint at {args.model} (streamrec train, or --model PATH)")
    torch.set_num_threads(args.threads)
    with embedded_pipeline(
        "pipebench", poll_batch=args.batch, scoring=args.scoring
    ) as bench:  # fmt: skip
        settings, sessions = bench.settings, bench.sessions
        names = Names(settings.namespace)
        n = bench.prefill(args.events)
        rounds = bench.rounds_for(args.events)

        # 1. the pipeline drains the backlog
        consumers = start_consumers(settings, args.model, 1, bench.work)
        wait_for_assignment(consumers, settings.partitions)
        client = redis_client(settings)
        pid = consumers[0].proc.pid
        first = time.monotonic()
        cpu_first = cpu_seconds(pid) or 0.0
        start_count = read_totals(client, names).accounted
        while (done := read_totals(client, names).accounted) < n:
            time.sleep(0.05)
        pipeline = (done - start_count) / (time.monotonic() - first)
        consumer_cpu = (cpu_seconds(pid) or 0.0) - cpu_first
        stop_consumers(consumers)

        # 2. bare Kafka consumption of the same topic
        kafka = kafka_ceiling(settings, names.clicks, n, args.batch)

        # 3. Redis round trips for the same events (other keys, same sizes)
        events = [e for _, e in zip(range(n), (
            ev for r in range(rounds) for ev in interleave(sessions, 200, 1 + r, r)))]  # fmt: skip
        t0 = time.monotonic()
        for i in range(0, n, args.batch):
            chunk = events[i : i + args.batch]
            read = client.pipeline(transaction=False)
            for sid in dict.fromkeys(e[0] for e in chunk):
                read.hmget(f"bench:{sid}", "items", "seq", "topk", "scores")
            read.execute()
            write = client.pipeline(transaction=False)
            for sid, seq, item, _ in chunk:
                write.hset(f"bench:{sid}", mapping={"seq": seq, "items": str(item),
                                                    "topk": "[" + "1," * 19 + "1]"})  # fmt: skip
            write.execute()
        redis_rate = n / (time.monotonic() - t0)

        # 4. the scorer alone on the same prefixes
        scorer = ServedModel(args.model, scoring=args.scoring)
        prefixes: dict[str, list[int]] = {}
        keys, windows = [], []
        for sid, _seq, item, _ in events:
            prefix = prefixes.setdefault(sid, [])
            prefix.append(item)
            keys.append(sid)
            windows.append(list(prefix[-scorer.max_len :]))
        t0, cpu0 = time.monotonic(), time.process_time()
        for i in range(0, n, args.batch):
            scorer.top_k(keys[i : i + args.batch], windows[i : i + args.batch])
        scorer_rate = n / (time.monotonic() - t0)
        scorer_cpu = time.process_time() - cpu0

    drained = done - start_count
    consumer_per_cpu = drained / consumer_cpu if consumer_cpu > 0 else 0.0
    scorer_per_cpu = n / scorer_cpu if scorer_cpu > 0 else scorer_rate
    result = {
        "events": n, "batch": args.batch, "threads": args.threads, "scoring": scorer.mode,
        "load_average_1m": os.getloadavg()[0],
        "pipeline_events_per_s": pipeline, "scorer_events_per_s": scorer_rate,
        "pipeline_over_scorer": pipeline / scorer_rate,
        "consumer_cpu_seconds_per_1k_events": 1000 / consumer_per_cpu if consumer_per_cpu else 0,
        "consumer_cores_while_draining": pipeline / consumer_per_cpu if consumer_per_cpu else 0,
        "consumer_events_per_cpu_s": consumer_per_cpu,
        "scorer_events_per_cpu_s": scorer_per_cpu,
        # per CPU-second on both sides: what other processes take from either does not count
        "consumer_events_per_cpu_s_over_scorer": consumer_per_cpu / scorer_per_cpu,
        # over the scorer's events per wall second (the same on a quiet machine)
        "consumer_events_per_cpu_s_over_scorer_wall": consumer_per_cpu / scorer_rate,
        "kafka_ceiling_events_per_s": kafka, "redis_ceiling_events_per_s": redis_rate,
        "pipeline_over_kafka": pipeline / kafka, "pipeline_over_redis": pipeline / redis_rate,
    }  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(f"pipeline {pipeline:9,.0f} ev/s (1 consumer, {args.threads} torch thread, "
          f"{scorer.mode} scoring)")  # fmt: skip
    for name, rate in (("kafka", kafka), ("redis", redis_rate), ("scorer", scorer_rate)):
        print(f"{name:6s} ceiling {rate:9,.0f} ev/s   pipeline / {name} = {pipeline / rate:.3f}")
    print(f"consumer {consumer_per_cpu:9,.0f} ev per CPU-second = "
          f"{consumer_per_cpu / scorer_per_cpu:.3f} x the scorer alone per CPU-second "
          f"({scorer_per_cpu:,.0f}); load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    print(f"-> {args.out}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
