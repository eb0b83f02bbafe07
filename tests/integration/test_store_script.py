"""The store's Lua script on a real Valkey: per-event decisions, one write per session per call,
the same end state and totals as applying every event on its own, one hash slot per call."""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from typing import Any

import pytest
from redis.crc import key_slot

from streamrec.clients import redis_client
from streamrec.config import Settings
from streamrec.consumer.state import APPLIED, DUPLICATE, GAP, UNKNOWN_ITEM, EventWrite
from streamrec.consumer.store import SessionStore
from streamrec.consumer.totals import read_totals
from streamrec.contract.names import Names
from streamrec.model.evaluation.ranking import RankingTotals
from streamrec.redis_scripts import ScriptCall
from tests.backends import Endpoints
from tests.integration.helpers import isolated_settings

pytestmark = pytest.mark.integration
MAX_LEN = 4


def reference(writes: list[EventWrite], states: dict[str, dict[str, Any]]) -> list[int]:
    """What applying each write on its own does (the script's contract), on plain dicts."""
    outcomes = []
    for w in writes:
        state = states.get(w.session_id)
        prev = state["seq"] if state else -1
        if w.seq <= prev:
            outcomes.append(DUPLICATE)
        elif w.seq > prev + 1 or not (w.scored or w.advance_only):  # unscored: count only
            outcomes.append(GAP)
        elif w.advance_only:
            if state is None:
                state = states[w.session_id] = {
                    "items": [], "topk": [], "scores": [], "behavior": w.behavior or "",
                }  # fmt: skip
            state["seq"] = w.seq
            outcomes.append(UNKNOWN_ITEM)
        else:
            states[w.session_id] = {
                "seq": w.seq, "items": w.items, "topk": w.topk_items,
                "scores": w.topk_scores, "behavior": w.behavior or "", "ties": w.topk_ties,
            }  # fmt: skip
            outcomes.append(UNKNOWN_ITEM if w.unknown_item else APPLIED)
    return outcomes


def random_writes(rng: random.Random, next_seq: dict[str, int], n: int) -> list[EventWrite]:
    """Mostly applicable events of a few sessions, with duplicates, gaps, unknown items and
    unscored ones mixed in (the consumer's ``next_seq`` view is only a guess here)."""
    writes = []
    for _ in range(n):
        sid = f"s{rng.randrange(6)}"
        expected = next_seq.get(sid, 0)
        seq = max(0, expected + rng.choice([0, 0, 0, 0, 0, -1, 1]))
        kind = rng.random()
        unknown, scored = kind < 0.15, kind > 0.05
        # following versions: an unknown item applies (window, top-K, evaluation); stale
        followed, stale = rng.random() < 0.3, rng.random() < 0.2
        items = [rng.randrange(50) for _ in range(rng.randrange(1, 7))]
        topk = [rng.randrange(50) for _ in range(3)]
        scores = sorted((rng.random() for _ in range(3)), reverse=True)
        evaluation = RankingTotals.from_rank(rng.randrange(1, 25)) if seq > 0 else None
        writes.append(
            EventWrite(
                sid, seq, items, topk, scores, rng.choice(["explorer", None]),
                evaluation if scored and (followed or not unknown) else None, scored,
                unknown_item=unknown, advance_only=unknown and not followed,
                topk_ties=rng.randrange(3), stale=stale,
            )
        )  # fmt: skip
        if seq == expected:
            next_seq[sid] = seq + 1
    return writes


def stored(client: Any, names: Names, sid: str) -> dict[str, Any] | None:
    raw = {k.decode(): v.decode() for k, v in client.hgetall(names.session_key(sid)).items()}
    if not raw:
        return None
    out: dict[str, Any] = {
        "seq": int(raw["seq"]), "items": json.loads(raw["items"]),
        "topk": json.loads(raw["topk"]), "scores": json.loads(raw["scores"]),
        "behavior": raw["behavior"],
    }  # fmt: skip
    if "ties" in raw:
        out["ties"] = int(raw["ties"])
    return out


def test_one_write_per_session_ends_as_applying_each_event(servers: Endpoints) -> None:
    settings = isolated_settings(Settings(), servers)
    client = redis_client(settings)
    names = Names(settings.namespace)
    store = SessionStore(client, names, MAX_LEN, 60)
    rng = random.Random(5)
    expected: dict[str, dict[str, Any]] = {}
    next_seq: dict[str, int] = {}
    counts = {APPLIED: 0, DUPLICATE: 0, GAP: 0, UNKNOWN_ITEM: 0}

    def unknown(sid: str, seq: int) -> EventWrite:
        return EventWrite(
            sid, seq, [], [], [], "comparison", None, False, unknown_item=True, advance_only=True
        )

    def scored(sid: str, seq: int) -> EventWrite:
        return EventWrite(sid, seq, [seq], [seq], [0.5], "explorer", None, topk_ties=1)

    # a new session's first click outside the catalog, alone and followed by scored ones;
    # a scored session whose next click is unknown (fields kept, seq moved), in one call
    fixed = [unknown("u0", 0), unknown("u1", 0), scored("u1", 1), scored("u2", 0)]
    fixed += [unknown("u2", 1), unknown("u2", 2), scored("u2", 3), unknown("u2", 4)]
    next_seq.update({"u0": 1, "u1": 2, "u2": 5})
    stale = 0
    for writes in [fixed] + [random_writes(rng, next_seq, rng.randrange(1, 40)) for _ in range(30)]:
        want = reference(writes, expected)
        assert store.apply(writes) == want
        for outcome, write in zip(want, writes, strict=True):
            counts[outcome] += 1
            stale += outcome in (APPLIED, UNKNOWN_ITEM) and write.stale
    assert min(counts.values()) > 0  # every path was taken
    for sid in sorted(expected):
        assert stored(client, names, sid) == expected[sid], sid
        assert 0 < client.pttl(names.session_key(sid)) <= 60_000
    totals = read_totals(client, names)
    assert (totals.applied, totals.duplicate, totals.gap, totals.unknown_item) == (
        counts[APPLIED], counts[DUPLICATE], counts[GAP], counts[UNKNOWN_ITEM],
    )  # fmt: skip
    assert totals.stale == stale > 0


@pytest.mark.parametrize("shards", [64, 16])
def test_every_script_call_touches_one_hash_slot(servers: Endpoints, shards: int) -> None:
    settings = isolated_settings(Settings(), servers)
    names = Names(settings.namespace, shards=shards)
    store = SessionStore(redis_client(settings), names, MAX_LEN, 60)
    calls: list[list[str]] = []
    run = store._script.run

    def recording(script_calls: Sequence[ScriptCall]) -> list[Any]:
        calls.extend(list(keys) for keys, _ in script_calls)
        return run(script_calls)

    store._script.run = recording  # type: ignore[method-assign,assignment]
    writes = [EventWrite(f"user-{i}", 0, [i], [1], [0.5], "explorer", None) for i in range(300)]
    assert store.apply(writes) == [APPLIED] * 300
    assert len(calls) == len({names.shard_of(w.session_id) for w in writes}) <= shards
    for keys in calls:
        assert len({key_slot(k.encode()) for k in keys}) == 1, keys[:3]
        assert keys[0].endswith(":totals") and len(keys) > 1
    assert sorted(k for keys in calls for k in keys[1:]) == sorted(
        names.session_key(w.session_id) for w in writes
    )
