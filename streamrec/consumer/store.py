"""Per-session state in Redis, written effectively-once by a Lua script (one call per shard).

A session's hash holds its window of raw item ids (``consumer.planner`` decides how long), the
last applied ``seq``, the top-K stored after it (raw items and scores, JSON, and how many items
outside it tie with its last score) and its behaviour label. The script applies an event only if
``seq == last_seq + 1``; in the same atomic call it adds the events' online-evaluation
results to their shard's totals hash (same hash slot, see ``contract.names``; summed by
``consumer.totals``). Duplicates and gaps are counted there too and change nothing else. So
replays, redeliveries after a crash and concurrent consumers after a rebalance all leave the same
state and the same totals.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

import orjson

from streamrec.clients import REDIS_OUTAGES, RedisClient
from streamrec.consumer.state import EventWrite, SessionState
from streamrec.consumer.telemetry import ConsumerMetrics
from streamrec.contract.messages import json_array
from streamrec.contract.names import SECONDARY, SHADOW, Names
from streamrec.redis_scripts import PipelinedScript, ScriptCall

log = logging.getLogger("streamrec.consumer")
T = TypeVar("T")
FIRST_BACKOFF_S = 0.1
MAX_BACKOFF_S = 5.0

# One call per shard and batch. ARGV[2] = T, how many totals hashes the call updates:
# KEYS[1] is the shard's totals hash (every event outcome, and the primary's evaluations),
# KEYS[2] (T = 2) the second model's totals hash in the same slot (``Names.totals_key``);
# KEYS[T + i]: the session hash of event i (events in stream order; a session may repeat).
# Every key of a call carries the shard's hash tag, so a call touches one Redis Cluster slot.
# ARGV[1]: ttl ms; ARGV[2 + i]: event i's fields joined by FIELD_SEPARATOR (one argument per
# event keeps the client's command encoding cheap):
#   1 seq, 2 items json, 3 top-k items json, 4 top-k scores json, 5 behavior,
#   6 mode ('e': apply and add the evaluation, 'a': apply, 'u': an item outside a fixed
#     model's catalog: advance the seq only, 'c': count only: the consumer did not score it,
#     so it must not apply even if it became applicable since the read),
#   7 hit@10 (0/1), 8 hit@20 (0/1), 9 reciprocal rank @20, 10 how many items outside the
#     top-K tie with its last score (for exact online ranks),
#   11 which totals hash the evaluation goes to (1, or 2: a session served by the second
#     model in an A/B split),
#   12 shadow ('' none, 's' store the shadow's top-K, 'e' store it and add its evaluation to
#     KEYS[2]), 13-15 the shadow's hit@10, hit@20, reciprocal rank, 16-18 its top-K items
#     json, scores json and tail ties (stored as shadow_topk, shadow_scores, shadow_ties),
#   19 unknown item (1: an applied event counts as unknown_item, not applied; implied by 'u'),
#   20 stale (1: served by an older version than its time calls for: adds to 'stale').
# Returns 1 (applied), 0 (duplicate), -1 (gap) or 2 (unknown item, applied) per event.
# Events are decided one by one in order, against the seq stored or left by an earlier event
# of the call; each session is read once (HGET) and written once (HSET of the fields its
# events changed, the last value of each, then PEXPIRE), and the totals are added once: the
# same end state as writing after every event, with fewer commands (the call is atomic, so
# the primary's and the second model's totals move together with the state, exactly once).
FIELD_SEPARATOR = "\x1f"
# the fields above, as one bytes format (one C-level call per event)
_SERVED_FIELDS = ["%d", "%b", "%b", "%b", "%b", "%b", "%d", "%d", "%a", "%d"]
_SECOND_FIELDS = ["%d", "%b", "%d", "%d", "%a", "%b", "%b", "%d"]  # totals hash, shadow
_VERSION_FIELDS = ["%d", "%d"]  # unknown item, stale
_PACKED_FIELDS = FIELD_SEPARATOR.join([*_SERVED_FIELDS, *_SECOND_FIELDS, *_VERSION_FIELDS])
_PACKED = _PACKED_FIELDS.encode()
APPLY_EVENTS_LUA = """
local ttl = ARGV[1]
local ntotals = tonumber(ARGV[2])
local add, rr, out = {}, {}, {}
for t = 1, ntotals do add[t], rr[t] = {}, {} end
local last, pending, order = {}, {}, {}
local function bump(t, field, n) add[t][field] = (add[t][field] or 0) + n end
local function evaluated(t, behavior, h10, h20, r)
  local suffixes = {''}
  if behavior ~= '' then suffixes[2] = ':' .. behavior end
  for _, s in ipairs(suffixes) do
    bump(t, 'n' .. s, 1)
    bump(t, 'h10' .. s, tonumber(h10))
    bump(t, 'h20' .. s, tonumber(h20))
    rr[t]['rr' .. s] = (rr[t]['rr' .. s] or 0) + tonumber(r)
  end
end
for i = 1, #KEYS - ntotals do
  local key = KEYS[i + ntotals]
  local f, from = {}, 1
  local packed = ARGV[i + 2]
  while true do
    local sep = string.find(packed, '\\31', from, true)
    if not sep then
      f[#f + 1] = string.sub(packed, from)
      break
    end
    f[#f + 1] = string.sub(packed, from, sep - 1)
    from = sep + 1
  end
  local prev = last[key]
  if prev == nil then
    local stored = redis.call('HGET', key, 'seq')
    if stored then prev = tonumber(stored) else prev = -1 end
  end
  local seq = tonumber(f[1])
  if seq <= prev then
    bump(1, 'duplicate', 1)
    out[i] = 0
  elseif seq > prev + 1 or f[6] == 'c' then
    bump(1, 'gap', 1)
    out[i] = -1
  else
    local p = pending[key]
    if not p then
      p = {}
      pending[key] = p
      order[#order + 1] = key
    end
    if f[6] == 'u' then
      if prev < 0 then  -- a new session: an empty window and top-K
        p.items, p.topk, p.scores, p.behavior = '[]', '[]', '[]', f[5]
      end
      bump(1, 'unknown_item', 1)
      out[i] = 2
    else
      local behavior = f[5]
      p.items, p.topk, p.scores, p.behavior, p.ties = f[2], f[3], f[4], behavior, f[10]
      if f[19] == '1' then
        bump(1, 'unknown_item', 1)
        out[i] = 2
      else
        bump(1, 'applied', 1)
        out[i] = 1
      end
      if f[6] == 'e' then evaluated(tonumber(f[11]), behavior, f[7], f[8], f[9]) end
      if f[12] ~= '' then
        p.shadow_topk, p.shadow_scores, p.shadow_ties = f[16], f[17], f[18]
        if f[12] == 'e' then evaluated(2, behavior, f[13], f[14], f[15]) end
      end
    end
    if f[20] == '1' then bump(1, 'stale', 1) end
    p.seq = seq
    prev = seq
  end
  last[key] = prev
end
local names = {
  'seq', 'items', 'topk', 'scores', 'behavior', 'ties',
  'shadow_topk', 'shadow_scores', 'shadow_ties',
}
for _, key in ipairs(order) do
  local p, args = pending[key], {}
  for _, name in ipairs(names) do
    if p[name] then
      args[#args + 1] = name
      args[#args + 1] = p[name]
    end
  end
  redis.call('HSET', key, unpack(args))
  redis.call('PEXPIRE', key, ttl)
end
for t = 1, ntotals do
  for field, n in pairs(add[t]) do redis.call('HINCRBY', KEYS[t], field, n) end
  for field, x in pairs(rr[t]) do
    redis.call('HINCRBYFLOAT', KEYS[t], field, string.format('%.17g', x))
  end
end
return out
"""


class SessionStore:
    """Reads batches of session state and applies event writes, one round trip each."""

    def __init__(
        self,
        client: RedisClient,
        names: Names,
        max_len: int,
        ttl_seconds: float,
        second_model: str | None = None,
    ):
        """``second_model``: the label (``SHADOW`` or ``SECONDARY``) whose totals a second
        model's evaluations go to; None: one model."""
        self.client = client
        self.names = names
        self.max_len = max_len
        self.ttl_ms = int(ttl_seconds * 1000)
        self.second_model = second_model
        self._fields = ["items", "seq", "topk", "scores", "ties"]
        if second_model == SHADOW:
            self._fields += ["shadow_topk", "shadow_scores", "shadow_ties"]
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
            pipe.hmget(self.names.session_key(sid), *self._fields)
        states: dict[str, SessionState] = {}
        loads = orjson.loads
        for sid, row in zip(session_ids, pipe.execute()):
            items, seq, topk, scores, ties = row[:5]
            if seq is None:
                states[sid] = SessionState()
                continue
            state = states[sid] = SessionState(
                items=loads(items),
                last_seq=int(seq),
                topk_items=loads(topk),
                topk_scores=loads(scores),
                topk_ties=int(ties or 0),
            )
            if len(row) > 5 and row[5] is not None:
                state.shadow_topk = (loads(row[5]), loads(row[6]), int(row[7] or 0))
        return states

    def apply(self, writes: list[EventWrite]) -> list[int]:
        """Apply every write, in order, with one script call per shard, in one round trip.

        Returns APPLIED, DUPLICATE, GAP or UNKNOWN_ITEM per write.
        """
        if not writes:
            return []
        names = self.names
        located: dict[str, tuple[int, str]] = {}  # session -> (shard, key), once per batch
        by_shard: dict[int, tuple[list[int], list[str], list[bytes | int]]] = {}
        for index, w in enumerate(writes):
            sid = w.session_id
            place = located.get(sid)
            if place is None:
                shard = names.shard_of(sid)
                place = located[sid] = (shard, names.session_key_in(shard, sid))
            call = by_shard.get(place[0])
            if call is None:
                call = by_shard[place[0]] = ([], *self._call_start(place[0]))
            call[0].append(index)
            call[1].append(place[1])
            call[2].append(self._packed(w))
        calls: list[ScriptCall] = [(keys, args) for _, keys, args in by_shard.values()]
        results = [0] * len(writes)
        answers = self._script.run(calls)
        for (indices, _, _), outcomes in zip(by_shard.values(), answers, strict=True):
            for index, outcome in zip(indices, outcomes, strict=True):
                results[index] = int(outcome)
        return results

    def _call_start(self, shard: int) -> tuple[list[str], list[bytes | int]]:
        """A shard call's totals keys and leading arguments (see ``APPLY_EVENTS_LUA``)."""
        keys = [self.names.totals_key(shard)]
        if self.second_model is not None:
            keys.append(self.names.totals_key(shard, self.second_model))
        return keys, [self.ttl_ms, len(keys)]

    def _packed(self, w: EventWrite) -> bytes:
        """One event's script argument (see ``APPLY_EVENTS_LUA``)."""
        if w.encoded_topk is not None:
            topk, scores = w.encoded_topk
        else:
            topk, scores = json_array(w.topk_items), json_array(w.topk_scores)
        ev = w.evaluation
        shadow, sev = w.shadow_topk, w.shadow_evaluation
        if shadow is not None and self.second_model != SHADOW:
            raise ValueError("a shadow top-K needs a store built with second_model=SHADOW")
        if w.second_arm and self.second_model != SECONDARY:
            raise ValueError("a second-arm write needs a store built with second_model=SECONDARY")
        return _PACKED % (
            w.seq,
            json_array(w.items),
            topk,
            scores,
            w.behavior.encode() if w.behavior else b"",
            _mode(w),
            ev.hits_10 if ev is not None else 0,
            ev.hits_20 if ev is not None else 0,
            ev.rr_sum_20 if ev is not None else 0,
            w.topk_ties,
            2 if w.second_arm else 1,
            (b"e" if sev is not None else b"s") if shadow is not None else b"",
            sev.hits_10 if sev is not None else 0,
            sev.hits_20 if sev is not None else 0,
            sev.rr_sum_20 if sev is not None else 0,
            shadow[0] if shadow is not None else b"",
            shadow[1] if shadow is not None else b"",
            shadow[2] if shadow is not None else 0,
            w.unknown_item,
            w.stale,
        )

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


def _mode(write: EventWrite) -> bytes:
    """The script's mode letter for a write (see ``APPLY_EVENTS_LUA``)."""
    if write.advance_only:
        return b"u"
    if not write.scored:
        return b"c"
    return b"e" if write.evaluation is not None else b"a"
