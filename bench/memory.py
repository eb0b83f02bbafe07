"""Consumer memory under a long replay: RSS at start (after warm-up) and at the end.

Starts embedded servers and one consumer process, replays held-out sessions round after
round (each round as new sessions) until ``--events`` events, and samples the consumer's
resident set size. State per session lives in Redis (bounded by max_len, expiring by TTL);
the consumer itself keeps nothing per session, so its RSS should stay flat.

    python bench/memory.py [--events 200000] [--model artifacts/model.pt]

Writes bench/results/memory.json.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from streamrec.clients import redis_client
from streamrec.config import Settings
from streamrec.consumer.totals import read_totals
from streamrec.contract.names import Names
from streamrec.model.training.workflow import train_model
from streamrec.pipeline.bench import embedded_pipeline
from streamrec.pipeline.processes import start_consumers, stop_consumers, wait_for_assignment
from streamrec.producer.replay import ClickProducer

RESULTS = Path(__file__).parent / "results"


def rss_mib(pid: int) -> float:
    """Resident set size of ``pid`` in MiB (from /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def main() -> None:
    """Run the benchmark."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--model", type=Path, default=Path("artifacts/model.pt"))
    ap.add_argument("--out", type=Path, default=RESULTS / "memory.json")
    args = ap.parse_args()
    if args.events < 20_000:
        ap.error("--events must be >= 20000 (the first 10,000 are warm-up)")

    work = Path(tempfile.mkdtemp(prefix="streamrec-membench-"))
    model = args.model
    if not model.is_file():
        model = work / "model.pt"
        print(f"{args.model} missing: training a small model -> {model}")
        train_model(
            Settings(epochs=1, max_train_sessions=2000, threads=1), model, show_progress=False
        )
    with embedded_pipeline("membench") as bench:
        settings, sessions = bench.settings, bench.sessions
        rounds = bench.rounds_for(args.events)
        consumers = start_consumers(settings, model, 1, work)
        wait_for_assignment(consumers, settings.partitions)
        pid = consumers[0].proc.pid
        client, names = redis_client(settings), Names(settings.namespace)
        producer = ClickProducer(settings)
        started = time.monotonic()
        result = producer.replay(sessions, rounds=rounds, limit=args.events, seed=1)
        samples: list[tuple[int, float]] = []
        rss_start = None
        while True:
            totals = read_totals(client, names)
            done = totals.accounted
            samples.append((done, rss_mib(pid)))
            if rss_start is None and done >= 10_000:
                rss_start = samples[-1][1]
            if done >= result.sent:
                break
            time.sleep(1.0)
        seconds = time.monotonic() - started
        rss_end = rss_mib(pid)
        stop_consumers(consumers)
        redis_mib = int(client.info("memory")["used_memory"]) / 2**20
    assert rss_start is not None
    report = {
        "events": result.sent,
        "rounds": rounds,
        "seconds": round(seconds, 1),
        "consumer_rss_mib_after_10k": round(rss_start, 1),
        "consumer_rss_mib_end": round(rss_end, 1),
        "rss_growth_ratio": round(rss_end / rss_start, 3),
        "redis_used_memory_mib_end": round(redis_mib, 1),
        "samples": samples[:: max(1, len(samples) // 50)],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(
        f"{result.sent:,} events in {seconds:.0f}s: consumer RSS {rss_start:.0f} MiB after 10k "
        f"events -> {rss_end:.0f} MiB at the end (x{report['rss_growth_ratio']}); Redis "
        f"{redis_mib:.0f} MiB -> {args.out}"
    )


if __name__ == "__main__":
    main()
