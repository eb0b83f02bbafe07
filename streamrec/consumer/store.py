"""Per-session state in Redis, written effectively-once by a Lua script (one call per shard).

A session's hash holds its last ``max_len`` items, the last applied ``seq``, the top-K stored
after it (items and scores, JSON, and how many items outside it tie with its last score) and
its behaviour label. The script applies an event only if
``seq == last_seq + 1``; in the same atomic call it adds the events' online-evaluation
results to their shard's totals hash (same hash slot, see ``contract.names``; summed by
``consumer.totals``). Duplicates and gaps are counted there too and change nothing else. So
replays, redeliveries after a crash and concurrent consumers after a rebalance all leave the same
state and the same totals.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import TypeVar

from streamrec.clients import REDIS_OUTAGES, RedisClient
from streamrec.consumer.state import EventWrite, SessionState
from streamrec.consumer.telemetry import ConsumerMetrics
from streamrec.contract.messages import json_floats, json_ints
from streamrec.contract.names import Names
from streamrec.redis_scripts import PipelinedScript, ScriptCall

log = logging.getLogger("streamrec.consumer")
T = TypeVar("T")
FIRST_BACKOFF_S = 0.1
MAX_BACKOFF_S = 5.0

# One call per shard and batch. KEYS[1]: the shard's totals hash; KEYS[1 + i]: the session
# hash of event i (events in stream order; a session may repeat). ARGV[1]: ttl ms; ARGV[1 + i]:
# event i's fields joined by FIELD_SEPARATOR (one argument per event keeps the client's
# command encoding cheap): seq, items json, top-k items json, top-k scores json, behavior,
# mode ('e': apply and add the evaluation, 'a': apply, 'u': an item outside the catalog:
# advance the seq only, 'c': count only: the consumer did not score it, so it must not apply
# even if it became applicable since the read), hit@10 (0/1), hit@20 (0/1), reciprocal rank @20,
# and how many items outside the top-K tie with its last score (for exact online ranks).
# Returns 1 (applied), 0 (duplicate), -1 (gap) or 2 (unknown item, seq advanced) per event.
# Totals are added once per call.
FIELD_SEPARATOR = "\x1f"
APPLY_EVENTS_LUA = """
local ttl = ARGV[1]
local add, rr, out = {}, {}, {}
local function bump(field, n) add[field] = (add[field] or 0) + n end
for i = 1, #KEYS - 1 do
  local key = KEYS[i + 1]
  local f, from = {}, 1
  local packed = ARGV[i + 1]
  while true do
    local sep = string.find(packed, '\\31', from, true)
    if not sep then
      f[#f + 1] = string.sub(packed, from)
      break
    end
    f[#f + 1] = string.sub(packed, from, sep - 1)
    from = sep + 1
  end
  local last = redis.call('HGET', key, 'seq')
  local seq = tonumber(f[1])
  local expected = 0
  if last then expected = tonumber(last) + 1 end
  if seq < expected then
    bump('duplicate', 1)
    out[i] = 0
  elseif seq > expected or f[6] == 'c' then
    bump('gap', 1)
    out[i] = -1
  elseif f[6] == 'u' then
    if last then
      redis.call('HSET', key, 'seq', seq)
    else
      redis.call('HSET', key, 'seq', seq, 'items', '[]', 'topk', '[]', 'scores', '[]',
                 'behavior', f[5])
    end
    redis.call('PEXPIRE', key, ttl)
    bump('unknown_item', 1)
    out[i] = 2
  else
    local behavior = f[5]
    redis.call('HSET', key, 'seq', seq, 'items', f[2], 'topk', f[3], 'scores', f[4],
               'behavior', behavior, 'ties', f[10])
    redis.call('PEXPIRE', key, ttl)
    bump('applied', 1)
    if f[6] == 'e' then
      local suffixes = {''}
      if behavior ~= '' then suffixes[2] = ':' .. behavior end
      for _, s in ipairs(suffixes) do
        bump('n' .. s, 1)
        bump('h10' .. s, tonumber(f[7]))
        bump('h20' .. s, tonumber(f[8]))
        rr['rr' .. s] = (rr['rr' .. s] or 0) + tonumber(f[9])
      end
    end
    out[i] = 1
  end
end
for field, n in pairs(add) do redis.call('HINCRBY', KEYS[1], field, n) end
for field, x in pairs(rr) do
  redis.call('HINCRBYFLOAT', KEYS[1], field, string.format('%.17g', x))
end
return out
"""


class SessionStore:
    """Reads batches of session state and applies event writes, one round trip each."""

    def __init__(self, client: RedisClient, names: Names, max_len: int, ttl_seconds: float):
        self.client = client
        self.names = names
        self.max_len = max_len
        self.ttl_ms = int(ttl_seconds * 1000)
        # EVALSHA routed by key on a cluster, NOSCRIPT reloaded on every master
        self._script = PipelinedScript(client, APPLY_EVENTS_LUA)

    def retrying(
        self,
        should_stop: Callable[[], bool],
        metrics: ConsumerMetrics,
        sleep: Callable[[float], None] = time.sleep,
    ) -> RetryingSessionStore:
        """This store with every round trip retried through Redis outages (see ``RedisRetry``)."""
        return RetryingSessionStore(self, RedisRetry(should_stop, metrics, sleep))

    def read(self, session_ids: list[str]) -> dict[str, SessionState]:
        """State of each session (empty state for unknown ones), in one round trip."""
        pipe = self.client.pipeline(transaction=False)
        for sid in session_ids:
            pipe.hmget(self.names.session_key(sid), "items", "seq", "topk", "scores", "ties")
        states: dict[str, SessionState] = {}
        for sid, row in zip(session_ids, pipe.execute()):
            items, seq, topk, scores, ties = row
            if seq is None:
                states[sid] = SessionState()
            else:
                states[sid] = SessionState(
                    items=json.loads(items),
                    last_seq=int(seq),
                    topk_items=json.loads(topk),
                    topk_scores=json.loads(scores),
                    topk_ties=int(ties or 0),
                )
        return states

    def apply(self, writes: list[EventWrite]) -> list[int]:
        """Apply every write, in order, with one script call per shard, in one round trip.

        Returns APPLIED, DUPLICATE, GAP or UNKNOWN_ITEM per write.
        """
        if not writes:
            return []
        by_shard: dict[int, list[int]] = {}
        for index, w in enumerate(writes):
            by_shard.setdefault(self.names.shard_of(w.session_id), []).append(index)
        calls: list[ScriptCall] = []
        for shard, indices in by_shard.items():
            keys = [self.names.totals_key(shard)]
            args: list[str | int] = [self.ttl_ms]
            for index in indices:
                w = writes[index]
                ev = w.evaluation
                keys.append(self.names.session_key(w.session_id))
                fields = (
                    str(w.seq),
                    json_ints(w.items[-self.max_len :]),
                    json_ints(w.topk_items),
                    json_floats(w.topk_scores),
                    w.behavior or "",
                    _mode(w),
                    str(ev.hits_10) if ev is not None else "0",
                    str(ev.hits_20) if ev is not None else "0",
                    repr(ev.rr_sum_20) if ev is not None else "0",
                    str(w.topk_ties),
                )
                args.append(FIELD_SEPARATOR.join(fields))
            calls.append((keys, args))
        results = [0] * len(writes)
        for indices, outcomes in zip(by_shard.values(), self._script.run(calls), strict=True):
            for index, outcome in zip(indices, outcomes, strict=True):
                results[index] = int(outcome)
        return results

    def add_invalid(self, count: int) -> int:
        """Count invalid events (not tied to a session); returns the new total."""
        return int(self.client.hincrby(self.names.stats_key, "invalid", count))


class RedisRetry:
    """Runs a Redis round trip, retrying with exponential backoff through outages.

    An outage shows as ``streamrec_redis_up`` 0 until a round trip succeeds again, and every
    failed try counts in ``streamrec_redis_errors``. It gives up only when ``should_stop``
    says so (the caller then leaves its batch uncommitted, to be redelivered).
    """

    def __init__(
        self,
        should_stop: Callable[[], bool],
        metrics: ConsumerMetrics,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.should_stop = should_stop
        self.metrics = metrics
        self.sleep = sleep

    def __call__(self, operation: Callable[[], T]) -> T | None:
        """The operation's result, or None if asked to stop while Redis is down."""
        backoff = FIRST_BACKOFF_S
        outage_since: float | None = None
        while True:
            try:
                result = operation()
            except REDIS_OUTAGES as exc:  # on a cluster also CLUSTERDOWN, TRYAGAIN
                self.metrics.redis_errors.inc()
                if outage_since is None:
                    outage_since = time.monotonic()
                    self.metrics.redis_up.set(0)
                    log.warning(
                        "Redis unavailable (%s); retrying with backoff, not committing",
                        type(exc).__name__,
                    )
                if self.should_stop():
                    return None
                self.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_S)
                continue
            if outage_since is not None:
                log.warning("Redis is back after %.1fs; resuming", time.monotonic() - outage_since)
                self.metrics.redis_up.set(1)
            return result


class RetryingSessionStore:
    """A ``SessionStore`` whose round trips retry through Redis outages; each returns None
    only when asked to stop while Redis is down."""

    def __init__(self, store: SessionStore, retry: RedisRetry) -> None:
        self.store = store
        self.retry = retry

    def read(self, session_ids: list[str]) -> dict[str, SessionState] | None:
        """``SessionStore.read``, retried."""
        return self.retry(lambda: self.store.read(session_ids))

    def apply(self, writes: list[EventWrite]) -> list[int] | None:
        """``SessionStore.apply``, retried (the script's seq condition makes a retry safe)."""
        return self.retry(lambda: self.store.apply(writes))

    def add_invalid(self, count: int) -> int | None:
        """``SessionStore.add_invalid``, retried."""
        return self.retry(lambda: self.store.add_invalid(count))


def _mode(write: EventWrite) -> str:
    """The script's mode letter for a write (see ``APPLY_EVENTS_LUA``)."""
    if write.unknown_item:
        return "u"
    if not write.scored:
        return "c"
    return "e" if write.evaluation is not None else "a"
