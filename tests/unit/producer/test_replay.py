"""Replay: sessions interleave in order, and ``ReplayResult`` counts one ``replay`` call, also
on a reused producer (no broker needed)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import streamrec.producer.replay
from streamrec.config import Settings
from streamrec.model.data.corpus import SessionCorpus
from streamrec.producer.replay import ClickProducer, interleave
from streamrec.producer.sources import ReplaySessions, replay_sessions
from streamrec.traffic.clock import ClockSpec

Delivery = Callable[[Any, Any], None]


class LocalKafka:
    """A confluent Producer stand-in: every ``fail_every``-th message fails on delivery."""

    def __init__(self, _conf: dict[str, Any], fail_every: int = 0) -> None:
        self.fail_every = fail_every
        self.values: list[bytes] = []
        self.pending: list[Delivery] = []

    def produce(self, _topic: str, key: bytes, value: bytes, on_delivery: Delivery) -> None:
        self.values.append(value)
        self.pending.append(on_delivery)

    def poll(self, _timeout: float = 0) -> int:
        for n, deliver in enumerate(self.pending, len(self.values) - len(self.pending) + 1):
            failed = self.fail_every and n % self.fail_every == 0
            deliver("Broker: request timed out" if failed else None, None)
        self.pending.clear()
        return 0

    def flush(self, timeout: float = 0) -> int:
        self.poll()
        return 0


@pytest.fixture(scope="module")
def sessions() -> ReplaySessions:
    return replay_sessions(Settings(users=300))


def producer(monkeypatch: pytest.MonkeyPatch, fail_every: int = 0) -> tuple[ClickProducer, Any]:
    kafka = LocalKafka({}, fail_every)
    monkeypatch.setattr(streamrec.producer.replay, "Producer", lambda _conf: kafka)
    return ClickProducer(Settings()), kafka


def sessions_in(values: list[bytes]) -> int:
    return len({json.loads(v)["session_id"] for v in values})


def test_counts_are_per_call_on_a_reused_producer(
    monkeypatch: pytest.MonkeyPatch, sessions: ReplaySessions
) -> None:
    click, kafka = producer(monkeypatch)
    before = time.time()
    first = click.replay(sessions, limit=300, seed=1)
    second = click.replay(sessions, limit=120, seed=2, first_round=1)
    assert (first.sent, first.acknowledged, first.failed) == (300, 300, 0)
    assert (second.sent, second.acknowledged, second.failed) == (120, 120, 0)
    # the producer's own counts are its lifetime's
    assert (click.queued, click.acknowledged) == (420, 420)
    assert before <= first.clock_started <= second.clock_started <= time.time()
    assert second.events_per_second == pytest.approx(120 / second.seconds)
    assert first.sessions == sessions_in(kafka.values[:300])
    assert second.sessions == sessions_in(kafka.values[300:])


def test_sessions_touched_is_less_than_sessions_offered_under_a_limit(
    monkeypatch: pytest.MonkeyPatch, sessions: ReplaySessions
) -> None:
    click, kafka = producer(monkeypatch)
    result = click.replay(sessions, limit=50, concurrency=10, seed=3)
    assert result.sessions == sessions_in(kafka.values) <= 10 < len(sessions)


def test_failures_and_their_last_error_are_per_call(
    monkeypatch: pytest.MonkeyPatch, sessions: ReplaySessions
) -> None:
    click, _ = producer(monkeypatch, fail_every=10)
    first = click.replay(sessions, limit=100, seed=1)
    assert (first.acknowledged, first.failed) == (90, 10)
    assert first.last_error == "Broker: request timed out"
    second = click.replay(sessions, limit=5, seed=2, first_round=1)  # messages 101..105
    assert (second.acknowledged, second.failed, second.last_error) == (5, 0, None)
    assert click.failed == 10


def test_interleave_keeps_each_session_in_order() -> None:
    corpus = SessionCorpus(
        sessions=[[1, 2, 3], [4, 5], [6, 7, 8, 9], [10]],
        session_ids=["a", "b", "c", "d"],
        behaviors=["explorer", None, "deep_dive", None],
        n_items=11,
        source="test",
        item_ids=np.arange(100, 111),
    )
    events = list(interleave(ReplaySessions(corpus, [0, 1, 2, 3]), concurrency=2, seed=0))
    assert len(events) == 10
    for sid, clicks in zip("abcd", corpus.sessions):
        mine = [(seq, item) for s, seq, item, _ in events if s == sid]
        assert mine == [(i, 100 + c) for i, c in enumerate(clicks)]  # the log's own ids
    # sessions interleave (not one after another)
    order = [s for s, *_ in events]
    assert order != sorted(order)


def test_a_clocked_replay_sends_in_due_order_and_reports_its_schedule(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    corpus = SessionCorpus(
        sessions=[[0, 1], [2, 3]],
        session_ids=["a", "b"],
        behaviors=[None, None],
        n_items=4,
        source="test",
        item_ids=np.arange(4),
        click_times=[[0.0, 30.0], [10.0, 20.0]],
    )
    click, kafka = producer(monkeypatch)
    result = click.replay(ReplaySessions(corpus, [0, 1]), clock=ClockSpec("replay", speedup=1e3))
    sent = [(e["session_id"], e["seq"]) for e in map(json.loads, kafka.values)]
    assert sent == [("a", 0), ("b", 0), ("b", 1), ("a", 1)]
    assert result.pacing is not None
    assert (result.pacing.events, result.pacing.scheduled_seconds) == (4, pytest.approx(0.03))
    assert result.pacing.achieved_seconds >= 0.03
    unpaced = click.replay(ReplaySessions(corpus, [0, 1]), first_round=1)
    assert unpaced.pacing is None  # as fast as possible: nothing was scheduled


def test_the_session_hook_runs_once_per_session_as_its_first_click_goes_out(
    monkeypatch: pytest.MonkeyPatch, sessions: ReplaySessions
) -> None:
    click, kafka = producer(monkeypatch)
    started: list[tuple[str, int]] = []  # (session id, messages queued by then)
    result = click.replay(
        sessions, limit=400, concurrency=20, seed=4,
        on_session_start=lambda sid: started.append((sid, len(kafka.values))),
    )  # fmt: skip
    sent = [json.loads(v) for v in kafka.values]
    firsts = [(e["session_id"], n) for n, e in enumerate(sent, 1) if e["seq"] == 0]
    assert started == firsts and len(started) == result.sessions


def test_under_a_drift_scenario_a_short_replay_spans_the_moment() -> None:
    settings = Settings(users=300, scenario="new-items")
    replay = replay_sessions(settings, max_sessions=10)
    assert replay.phases() == [0] * 5 + [1] * 5
    held_out = replay_sessions(settings)  # all of them, in stream order
    assert held_out.indices == sorted(held_out.indices)
    start = held_out.indices.index(replay.indices[0])
    assert replay.indices == held_out.indices[start : start + 10]  # consecutive
    assert replay_sessions(Settings(users=300), max_sessions=10).phases() is None


def test_replayed_examples_point_at_their_sessions_in_the_corpus(
    sessions: ReplaySessions,
) -> None:
    chosen = sessions.indices[3:6]
    examples = sessions.examples(chosen)
    assert sorted(set(examples.session_index.tolist())) == sorted(chosen)
    for index in chosen:
        session = sessions.corpus.sessions[index]
        mine = examples.targets[examples.session_index == index]
        assert mine.tolist() == session[1:]
    assert len(sessions.examples()) == sessions.n_events - len(sessions)
