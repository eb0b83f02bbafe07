"""What the number of session shards costs the store's writes, measured on the embedded Valkey.

The store applies a batch with one Lua script call per shard that the batch touches (a call
may only touch keys of one Redis Cluster slot, and each shard is one hash tag), so more shards
mean more, smaller calls per batch. This replays the same held-out click stream (``--events``,
``--concurrency`` sessions open at once, batches of ``--batch``) through ``SessionStore.apply``
once per shard count, in alternating rounds, each count in its own namespace, and reports per
1,000 events: the client's CPU (this process), Valkey's CPU (from /proc) and wall time, and
each relative to the default shard count. Every write must apply (a check, not a figure).

    python bench/store_shards.py [--shards 64,16,8,4,1] [--events 20000] [--rounds 3]

The last stdout line is one JSON object: {"rows": [{"shards", "calls_per_batch",
"client_cpu_ms_per_1k", "valkey_cpu_ms_per_1k", "wall_ms_per_1k", ...}], ...}.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from streamrec.clients import redis_client
from streamrec.config import Settings
from streamrec.consumer.state import APPLIED, EventWrite
from streamrec.consumer.store import SessionStore
from streamrec.contract.messages import json_rows
from streamrec.contract.names import N_SHARDS, Names
from streamrec.model.evaluation.ranking import RankingTotals
from streamrec.pipeline.process_cpu import cpu_seconds
from streamrec.pipeline.servers import pipeline_servers
from streamrec.producer.replay import interleave
from streamrec.producer.sources import replay_sessions

MAX_LEN = 25
TOP_K = 20


def stream_writes(settings: Settings, events: int, concurrency: int) -> list[EventWrite]:
    """The conditional writes a consumer would make for ``events`` held-out clicks (top-K rows
    are random, encoded as the consumer encodes them)."""
    sessions = replay_sessions(settings, held_out_only=True)
    rounds = -(-events // sessions.n_events)
    clicks = [
        click
        for _, click in zip(
            range(events),
            (c for r in range(rounds) for c in interleave(sessions, concurrency, 1 + r, r)),
        )
    ]
    rng = np.random.default_rng(0)
    items = rng.integers(0, 5000, size=(len(clicks), TOP_K))
    scores = np.sort(rng.standard_normal((len(clicks), TOP_K)).astype(np.float32), axis=1)[:, ::-1]
    rows = list(zip(json_rows(items), json_rows(scores), strict=True))
    windows: dict[str, list[int]] = {}
    writes = []
    for i, (sid, seq, item, behavior) in enumerate(clicks):
        window = [*windows.get(sid, []), int(item) % 5000][-MAX_LEN:]
        windows[sid] = window
        rank = int(rng.integers(1, 30))
        writes.append(
            EventWrite(
                session_id=sid,
                seq=seq,
                items=window,
                topk_items=[],
                topk_scores=[],
                behavior=behavior,
                evaluation=RankingTotals.from_rank(rank) if seq > 0 else None,
                encoded_topk=rows[i],
            )
        )
    return writes


def run_once(
    store: SessionStore, writes: list[EventWrite], batch: int, valkey_pid: int
) -> tuple[float, float, float, float]:
    """(client CPU s, Valkey CPU s, wall s, mean script calls per batch) for all writes."""
    calls = 0
    cpu0, server0, wall0 = time.process_time(), cpu_seconds(valkey_pid) or 0.0, time.monotonic()
    for i in range(0, len(writes), batch):
        chunk = writes[i : i + batch]
        calls += len({store.names.shard_of(w.session_id) for w in chunk})
        results = store.apply(chunk)
        if any(r != APPLIED for r in results):
            raise SystemExit("a write did not apply: the benchmark's stream is wrong")
    wall = time.monotonic() - wall0
    server = (cpu_seconds(valkey_pid) or 0.0) - server0
    n_batches = -(-len(writes) // batch)
    return time.process_time() - cpu0, server, wall, calls / n_batches


def main() -> None:
    """Measure each shard count and print the table and its JSON."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--shards", default="64,16,8,4,1", help="comma-separated shard counts")
    ap.add_argument("--events", type=int, default=20_000)
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--concurrency", type=int, default=200, help="sessions open at once")
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds per count")
    args = ap.parse_args()
    try:
        counts = [int(x) for x in args.shards.split(",")]
    except ValueError:
        ap.error(f"--shards must be comma-separated integers, got {args.shards!r}")
    if not counts or min(counts) < 1 or max(counts) > 100:
        ap.error("each shard count must be in 1..100 (keys carry it as two digits)")
    if args.events < 1000 or args.batch < 1 or args.concurrency < 1 or args.rounds < 1:
        ap.error("need --events >= 1000, --batch >= 1, --concurrency >= 1, --rounds >= 1")
    work = Path(tempfile.mkdtemp(prefix="streamrec-shards-"))
    with pipeline_servers(Settings().with_overrides({"group": "shards"}), work) as run:
        settings, valkey = run.settings, run.pids["valkey"]
        writes = stream_writes(settings, args.events, args.concurrency)
        client = redis_client(settings)
        totals = {c: [0.0, 0.0, 0.0, 0.0] for c in counts}
        for r in range(args.rounds):
            order = counts[r % len(counts) :] + counts[: r % len(counts)]
            for count in order:
                names = Names(f"shards{count}r{r}", shards=count)
                store = SessionStore(client, names, MAX_LEN, 600)
                for k, value in enumerate(run_once(store, writes, args.batch, valkey)):
                    totals[count][k] += value
    per_1k = 1000 / (len(writes) * args.rounds)
    base = totals[N_SHARDS] if N_SHARDS in totals else totals[counts[0]]
    rows = []
    for count in counts:
        client_cpu, server_cpu, wall, calls = totals[count]
        rows.append({
            "shards": count, "calls_per_batch": calls / args.rounds,
            "client_cpu_ms_per_1k": 1000 * client_cpu * per_1k,
            "valkey_cpu_ms_per_1k": 1000 * server_cpu * per_1k,
            "wall_ms_per_1k": 1000 * wall * per_1k,
            "client_cpu_over_base": client_cpu / base[0],
            "valkey_cpu_over_base": server_cpu / base[1] if base[1] else 0.0,
            "wall_over_base": wall / base[2],
        })  # fmt: skip
    print(f"{len(writes):,} events x {args.rounds} rounds, batches of {args.batch}, "
          f"{args.concurrency} open sessions; load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    print("shards  calls/batch  client CPU ms/1k  Valkey CPU ms/1k  wall ms/1k  (x base)")
    for row in rows:
        print(f"{row['shards']:6d}  {row['calls_per_batch']:11.1f}  "
              f"{row['client_cpu_ms_per_1k']:16.1f}  {row['valkey_cpu_ms_per_1k']:16.1f}  "
              f"{row['wall_ms_per_1k']:10.1f}  ({row['client_cpu_over_base']:.2f} / "
              f"{row['valkey_cpu_over_base']:.2f} / {row['wall_over_base']:.2f})")  # fmt: skip
    print(json.dumps({"events": len(writes), "rounds": args.rounds, "batch": args.batch,
                      "load_average_1m": os.getloadavg()[0], "rows": rows}))  # fmt: skip


if __name__ == "__main__":
    main()
