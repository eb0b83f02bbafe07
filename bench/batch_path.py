"""CPU per event of each stage of the consumer's batch path, in one process, on real servers.

Runs ``BatchProcessor`` (the consumer's batch path: decode, Redis read, plan, score, encode,
produce and wait for acks, Redis script, metrics) on the embedded broker and Valkey with the
served model, on held-out click events as Kafka messages, and counts the main thread's CPU
time (``time.thread_time``) spent in each stage and in the cyclic garbage collector. It runs
the stream twice, as new sessions each time: first with CPython's collector as it is at start,
then settled as the consumer process settles it (``settle_garbage_collector``). The time in
the collector is also counted in whichever stage it interrupted.

    python bench/batch_path.py [--model artifacts/model.pt] [--events 20000] [--batch 500]

The last stdout line is one JSON object: {"passes": [{"gc", "us_per_event", "stages": {...},
"gc_us_per_event"}], "load_average_1m"}.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from confluent_kafka import Message, Producer

from streamrec.clients import output_producer_config, redis_client
from streamrec.consumer import batch
from streamrec.consumer.main import settle_garbage_collector
from streamrec.consumer.outputs import Outputs
from streamrec.consumer.serving import ServedModel
from streamrec.consumer.store import SessionStore
from streamrec.consumer.telemetry import ConsumerMetrics
from streamrec.contract.events import ClickEvent
from streamrec.contract.names import Names
from streamrec.pipeline.bench import BenchPipeline, embedded_pipeline
from streamrec.producer.replay import interleave

Seconds = defaultdict[str, float]


def timed(spent: Seconds, label: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn``, adding the main thread's CPU time of every call to ``spent[label]``."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.thread_time()
        try:
            return fn(*args, **kwargs)
        finally:
            spent[label] += time.thread_time() - started

    return wrapper


def messages(bench: BenchPipeline, topic: str, n: int, first_round: int) -> list[Message]:
    """``n`` held-out clicks as Kafka messages, sessions renamed per round from ``first_round``."""
    rounds = range(first_round, first_round + bench.rounds_for(n))
    clicks = (c for r in rounds for c in interleave(bench.sessions, 200, 1 + r, r))
    now = time.time()
    return [
        Message(topic=topic, partition=0, offset=i, key=sid.encode(),
                value=ClickEvent(sid, seq, int(item), now, behavior).encode())
        for i, (sid, seq, item, behavior) in zip(range(n), clicks)
    ]  # fmt: skip


def main() -> None:
    """Run both passes and print the table and its JSON."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--model", type=Path, default=Path("artifacts/model.pt"))
    ap.add_argument("--events", type=int, default=20_000)
    ap.add_argument("--batch", type=int, default=500)
    args = ap.parse_args()
    if args.events < 1000 or args.batch < 1:
        ap.error("need --events >= 1000 and --batch >= 1")
    if not args.model.is_file():
        ap.error(f"no checkpoint at {args.model} (streamrec train, or --model PATH)")
    torch.set_num_threads(1)
    spent: Seconds = defaultdict(float)
    collector = {"started": 0.0}

    def on_gc(phase: str, _info: dict[str, Any]) -> None:
        if phase == "start":
            collector["started"] = time.thread_time()
        else:
            spent["garbage collector"] += time.thread_time() - collector["started"]

    passes: list[dict[str, Any]] = []
    with embedded_pipeline("batchpath") as bench:
        settings, names = bench.settings, Names(bench.settings.namespace)
        scorer = ServedModel(args.model)
        scorer.top_k = timed(spent, "score (ServedModel.top_k)", scorer.top_k)  # type: ignore[method-assign]
        metrics = ConsumerMetrics()
        store = SessionStore(redis_client(settings), names, scorer.max_len, 600)
        store.read = timed(spent, "Redis read", store.read)  # type: ignore[method-assign]
        store.apply = timed(spent, "Redis script", store.apply)  # type: ignore[method-assign]
        producer = Producer(output_producer_config(settings))
        outputs = Outputs(producer, names, "m", metrics, lambda: False)
        outputs.flush = timed(spent, "wait for acks", outputs.flush)  # type: ignore[method-assign]
        for name in ("decode_event", "plan_batch", "build_writes", "json_rows"):
            setattr(batch, name, timed(spent, name, getattr(batch, name)))
        processor = batch.BatchProcessor(
            scorer, store.retrying(lambda: False, metrics), outputs, metrics, 65_536
        )
        for mode, first_round in (("as at start", 0), ("settled", 1000)):
            stream = messages(bench, names.clicks, args.events, first_round)
            if mode == "settled":
                settle_garbage_collector()
            spent.clear()
            gc.callbacks.append(on_gc)
            started = time.thread_time()
            for i in range(0, len(stream), args.batch):
                if not processor.process(stream[i : i + args.batch]):
                    raise SystemExit("a batch was not applied")
            total = time.thread_time() - started
            gc.callbacks.remove(on_gc)
            per_event = {k: 1e6 * v / len(stream) for k, v in spent.items()}
            passes.append({
                "gc": mode, "us_per_event": 1e6 * total / len(stream),
                "gc_us_per_event": per_event.pop("garbage collector", 0.0), "stages": per_event,
            })  # fmt: skip
    load = os.getloadavg()[0]
    print(f"{args.events:,} events per pass, batches of {args.batch}; load average {load:.1f}")
    for p in passes:
        gc_us = p["gc_us_per_event"]
        print(f"collector {p['gc']}: {p['us_per_event']:.1f} us of main-thread CPU per event, "
              f"{gc_us:.1f} of them in the collector (inside the stages)")  # fmt: skip
        for stage, us in sorted(p["stages"].items(), key=lambda kv: -kv[1]):
            print(f"  {stage:28s} {us:6.1f} us/event")
        rest = p["us_per_event"] - sum(p["stages"].values())
        print(f"  {'rest (loop, produce, ...)':28s} {rest:6.1f} us/event")
    print(json.dumps({"events": args.events, "load_average_1m": load, "passes": passes}))


if __name__ == "__main__":
    main()
