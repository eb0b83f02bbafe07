"""Per-session state in Redis, written effectively-once by one Lua script per event.

A session's hash holds its last ``max_len`` items, the last applied ``seq``, the top-K stored
after it (items and scores, JSON) and its behaviour label. The script applies an event only if
``seq == last_seq + 1``; in the same atomic step it adds the event's online-evaluation result to
its shard's totals hash (same hash slot, see ``infra.names``). Duplicates and gaps are counted
there too and change nothing else. So replays, redeliveries after a crash and concurrent
consumers after a rebalance all leave the same state and the same totals.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import redis

from streamrec.infra.names import Names
from streamrec.model.metrics import RankingTotals

APPLIED, DUPLICATE, GAP = 1, 0, -1

# KEYS: session hash, shard totals hash.
# ARGV: seq, items json, top-k items json, top-k scores json, ttl ms, behavior, evaluated (0/1),
#       hit@10 (0/1), hit@20 (0/1), reciprocal rank @20.
APPLY_EVENT_LUA = """
local last = redis.call('HGET', KEYS[1], 'seq')
local seq = tonumber(ARGV[1])
local expected = 0
if last then expected = tonumber(last) + 1 end
if seq < expected then
  redis.call('HINCRBY', KEYS[2], 'duplicate', 1)
  return 0
end
if seq > expected then
  redis.call('HINCRBY', KEYS[2], 'gap', 1)
  return -1
end
redis.call('HSET', KEYS[1], 'seq', seq, 'items', ARGV[2], 'topk', ARGV[3], 'scores', ARGV[4],
           'behavior', ARGV[6])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('HINCRBY', KEYS[2], 'applied', 1)
if ARGV[7] == '1' then
  local suffixes = {''}
  if ARGV[6] ~= '' then suffixes[2] = ':' .. ARGV[6] end
  for _, s in ipairs(suffixes) do
    redis.call('HINCRBY', KEYS[2], 'n' .. s, 1)
    redis.call('HINCRBY', KEYS[2], 'h10' .. s, ARGV[8])
    redis.call('HINCRBY', KEYS[2], 'h20' .. s, ARGV[9])
    redis.call('HINCRBYFLOAT', KEYS[2], 'rr' .. s, ARGV[10])
  end
end
return 1
"""


@dataclass
class SessionState:
    """What Redis knows about one session (dense item ids)."""

    items: list[int] = field(default_factory=list)
    last_seq: int = -1
    topk_items: list[int] = field(default_factory=list)
    topk_scores: list[float] = field(default_factory=list)

    @property
    def next_seq(self) -> int:
        """The seq the next applicable event must carry."""
        return self.last_seq + 1


@dataclass
class EventWrite:
    """One conditional write: the state after ``seq`` and the evaluation of ``seq``."""

    session_id: str
    seq: int
    items: list[int]
    topk_items: list[int]
    topk_scores: list[float]
    behavior: str | None
    evaluation: RankingTotals | None  # None: nothing to evaluate (seq 0) or not scored


@dataclass
class OnlineTotals:
    """Exact online totals summed over shards."""

    overall: RankingTotals
    per_behavior: dict[str, RankingTotals]
    applied: int
    duplicate: int
    gap: int
    invalid: int

    @property
    def accounted(self) -> int:
        """Events with an outcome: applied, or counted as duplicate, gap or invalid."""
        return self.applied + self.duplicate + self.gap + self.invalid

    def report(self) -> dict[str, Any]:
        """JSON-ready figures with the same keys as offline evaluation."""
        out: dict[str, Any] = dict(self.overall.metrics())
        out["per_behavior"] = {k: v.metrics() for k, v in sorted(self.per_behavior.items())}
        out["events"] = {
            "applied": self.applied,
            "duplicate": self.duplicate,
            "gap": self.gap,
            "invalid": self.invalid,
        }
        return out


class SessionStore:
    """Reads batches of session state and applies event writes, one round trip each."""

    def __init__(self, client: redis.Redis, names: Names, max_len: int, ttl_seconds: float):
        self.client = client
        self.names = names
        self.max_len = max_len
        self.ttl_ms = int(ttl_seconds * 1000)
        self._script = client.register_script(APPLY_EVENT_LUA)

    def read(self, session_ids: list[str]) -> dict[str, SessionState]:
        """State of each session (empty state for unknown ones), in one round trip."""
        pipe = self.client.pipeline(transaction=False)
        for sid in session_ids:
            pipe.hmget(self.names.session_key(sid), "items", "seq", "topk", "scores")
        states: dict[str, SessionState] = {}
        for sid, row in zip(session_ids, pipe.execute()):
            items, seq, topk, scores = row
            if seq is None:
                states[sid] = SessionState()
            else:
                states[sid] = SessionState(
                    items=json.loads(items),
                    last_seq=int(seq),
                    topk_items=json.loads(topk),
                    topk_scores=json.loads(scores),
                )
        return states

    def apply(self, writes: list[EventWrite]) -> list[int]:
        """Run the conditional script for every write, in order, in one round trip.

        Returns APPLIED, DUPLICATE or GAP per write.
        """
        if not writes:
            return []
        pipe = self.client.pipeline(transaction=False)
        for w in writes:
            ev = w.evaluation
            self._script(
                keys=[
                    self.names.session_key(w.session_id),
                    self.names.totals_key_for(w.session_id),
                ],
                args=[
                    w.seq,
                    json.dumps(w.items[-self.max_len :]),
                    json.dumps(w.topk_items),
                    json.dumps(w.topk_scores),
                    self.ttl_ms,
                    w.behavior or "",
                    1 if ev is not None else 0,
                    ev.hits_10 if ev is not None else 0,
                    ev.hits_20 if ev is not None else 0,
                    repr(ev.rr_sum_20) if ev is not None else "0",
                ],
                client=pipe,
            )
        return [int(r) for r in pipe.execute()]

    def add_invalid(self, count: int) -> int:
        """Count invalid events (not tied to a session); returns the new total."""
        return int(self.client.hincrby(self.names.stats_key, "invalid", count))


def read_totals(client: redis.Redis, names: Names) -> OnlineTotals:
    """Sum every shard's totals (one round trip)."""
    pipe = client.pipeline(transaction=False)
    for key in names.all_totals_keys():
        pipe.hgetall(key)
    pipe.hget(names.stats_key, "invalid")
    *shards, invalid = pipe.execute()
    sums: dict[str, float] = {}
    for shard in shards:
        for raw_key, raw_value in shard.items():
            key = raw_key.decode()
            sums[key] = sums.get(key, 0.0) + float(raw_value)

    def totals(suffix: str) -> RankingTotals:
        return RankingTotals(
            n=int(sums.get("n" + suffix, 0)),
            hits_10=int(sums.get("h10" + suffix, 0)),
            hits_20=int(sums.get("h20" + suffix, 0)),
            rr_sum_20=sums.get("rr" + suffix, 0.0),
        )

    behaviors = sorted({k.split(":", 1)[1] for k in sums if k.startswith("n:")})
    return OnlineTotals(
        overall=totals(""),
        per_behavior={b: totals(":" + b) for b in behaviors},
        applied=int(sums.get("applied", 0)),
        duplicate=int(sums.get("duplicate", 0)),
        gap=int(sums.get("gap", 0)),
        invalid=int(invalid or 0),
    )


def wait_until_accounted(
    client: redis.Redis,
    names: Names,
    expected: int,
    timeout: float,
    on_poll: Callable[[OnlineTotals], None] | None = None,
    interval: float = 0.2,
) -> OnlineTotals:
    """Poll the totals until ``expected`` events have an outcome; TimeoutError after
    ``timeout`` seconds. ``on_poll`` sees every reading (progress displays, sampling)."""
    deadline = time.monotonic() + timeout
    while True:
        totals = read_totals(client, names)
        if on_poll is not None:
            on_poll(totals)
        if totals.accounted >= expected:
            return totals
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"only {totals.accounted:,} of {expected:,} events accounted for "
                f"after {timeout:.0f}s"
            )
        time.sleep(interval)
