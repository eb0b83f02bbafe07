"""Each kind of bad event has its defined outcome (docs/streaming-and-guarantees.md)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from streamrec.clients import ensure_topics, redis_client
from streamrec.consumer.state import APPLIED, DUPLICATE, GAP, EventWrite
from streamrec.consumer.store import SessionStore
from streamrec.consumer.totals import read_totals
from streamrec.contract.events import ClickEvent
from streamrec.contract.messages import SEQ_GAP, decode_dlq_headers
from streamrec.contract.names import Names
from streamrec.model.evaluation.ranking import RankingTotals
from streamrec.pipeline.processes import start_consumers, stop_consumers, wait_for_assignment
from streamrec.producer.replay import ClickProducer
from tests.backends import Endpoints
from tests.integration.helpers import isolated_settings, read_messages, wait_for_totals
from tests.models import TinyModel

pytestmark = pytest.mark.integration


def test_duplicates_gaps_out_of_order_and_unknown_items(
    generated_model: TinyModel, servers: Endpoints, tmp_path: Path
) -> None:
    settings = isolated_settings(generated_model.settings, servers, partitions=1)
    ensure_topics(settings)
    consumers = start_consumers(settings, generated_model.path, 1, tmp_path)
    now = time.time()
    stream = [
        ClickEvent("x", 0, 10, now), ClickEvent("x", 1, 11, now),
        ClickEvent("x", 1, 11, now),   # duplicate (redelivery)
        ClickEvent("x", 0, 10, now),   # duplicate (older)
        ClickEvent("x", 3, 13, now),   # gap: seq 2 missing -> DLQ, state untouched
        ClickEvent("x", 2, 12, now),   # the missing one: applies
        ClickEvent("y", 1, 21, now),   # out of order: before seq 0 -> gap, DLQ
        ClickEvent("y", 0, 20, now),
        ClickEvent("z", 0, 5_000, now),  # outside the model's 5,000-item catalog: seq moves on
        ClickEvent("z", 1, 7, now),      # applies (not evaluated: no top-K before it)
        ClickEvent("z", 2, 5_001, now),  # unknown again: window and top-K stay
        ClickEvent("z", 3, 8, now),      # applies, evaluated against the top-K after seq 1
    ]  # fmt: skip
    try:
        wait_for_assignment(consumers, 1)
        producer = ClickProducer(settings)
        for event in stream:
            producer.send(event)
        assert producer.flush() == 0
        totals = wait_for_totals(settings, len(stream))
    finally:
        assert stop_consumers(consumers) == [0]
    outcomes = (totals.applied, totals.unknown_item, totals.duplicate, totals.gap, totals.invalid)
    assert outcomes == (6, 2, 2, 2, 0)
    store = SessionStore(redis_client(settings), Names(settings.namespace), 25, 60)
    states = store.read(["x", "y", "z"])
    assert (states["x"].last_seq, states["x"].items) == (2, [10, 11, 12])
    assert (states["y"].last_seq, states["y"].items) == (0, [20])
    assert (states["z"].last_seq, states["z"].items) == (3, [7, 8])
    # x seq 1 and 2, and z seq 3, were scored against the previous top-20
    assert totals.overall.n == 3
    names = Names(settings.namespace)
    dead = [
        (decode_dlq_headers(m.headers()), m.value()) for m in read_messages(settings, names.dlq)
    ]
    assert sorted(d.reason for d, _ in dead) == [SEQ_GAP, SEQ_GAP]
    assert all(d.source.startswith(f"{names.clicks}/0/") and d.detail for d, _ in dead)
    # the rejected message itself, unchanged
    assert sorted(v or b"" for _, v in dead) == sorted([stream[4].encode(), stream[6].encode()])


def test_the_script_applies_in_order_per_shard_and_never_applies_unscored_events(
    generated_model: TinyModel, servers: Endpoints
) -> None:
    settings = isolated_settings(generated_model.settings, servers, partitions=1)
    names = Names(settings.namespace)
    store = SessionStore(redis_client(settings), names, 25, 60)
    hit = RankingTotals.from_rank(3)

    def write(sid: str, seq: int, scored: bool = True) -> EventWrite:
        items = list(range(seq + 1))
        evaluation = hit if seq > 0 and scored else None
        return EventWrite(sid, seq, items, [1, 2], [0.5, 0.25], "explorer", evaluation, scored)

    # sessions over several shards, a session's events in one call, a duplicate in the batch
    sids = [f"s{i}" for i in range(40)]
    batch = [write(sid, seq) for sid in sids for seq in (0, 1)] + [write("s0", 1)]
    results = store.apply(batch)
    assert results == [APPLIED] * 80 + [DUPLICATE]
    # seq 2 of s1 is now applicable, but the consumer saw a gap when it read: count only
    assert store.apply([write("s1", 2, scored=False), write("s1", 5)]) == [GAP, GAP]
    assert store.read(["s1"])["s1"].last_seq == 1
    totals = read_totals(redis_client(settings), names)
    assert (totals.applied, totals.duplicate, totals.gap) == (80, 1, 2)
    assert totals.overall.n == 40 and totals.overall.hits_10 == 40
    assert totals.overall.rr_sum_20 == pytest.approx(40 / 3, rel=1e-12)
    assert totals.per_behavior["explorer"].n == 40
