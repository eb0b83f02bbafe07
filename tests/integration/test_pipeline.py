"""Replay held-out sessions through real servers and consumer processes; online == offline."""

from __future__ import annotations

from pathlib import Path

import pytest

from streamrec.clients import ensure_topics
from streamrec.contract.messages import decode_recommendation
from streamrec.contract.names import Names
from streamrec.pipeline.demo import offline_report
from streamrec.pipeline.processes import start_consumers, stop_consumers, wait_for_assignment
from streamrec.producer.replay import ClickProducer
from streamrec.producer.sources import replay_sessions
from tests.backends import Endpoints
from tests.integration.helpers import (
    assert_state_matches,
    isolated_settings,
    log_tails,
    read_topic,
    wait_for_totals,
)
from tests.models import TinyModel

pytestmark = pytest.mark.integration
METRICS = ("hit_at_10", "hit_at_20", "mrr_at_20")


def replay_and_check(
    model: TinyModel, servers: Endpoints, tmp_path: Path, sessions: int, consumers: int
) -> None:
    settings = isolated_settings(model.settings, servers, partitions=4)
    ensure_topics(settings)
    replay = replay_sessions(settings, held_out_only=True, max_sessions=sessions)
    procs = start_consumers(settings, model.path, consumers, tmp_path)
    try:
        wait_for_assignment(procs, settings.partitions)
        result = ClickProducer(settings).replay(replay, concurrency=100, seed=1)
        assert result.failed == 0 and result.sent == replay.n_events
        totals = wait_for_totals(settings, result.sent)
    finally:
        codes = stop_consumers(procs)
    assert codes == [0] * consumers, log_tails([p.log_path for p in procs])

    # every event applied exactly once
    assert totals.applied == replay.n_events
    assert (totals.duplicate, totals.gap, totals.invalid) == (0, 0, 0)
    assert_state_matches(settings, replay)

    # online metrics (exact totals from Redis) == offline evaluation of the same sessions
    online = totals.report()
    offline = offline_report(model.path, replay)
    assert online["n_examples"] == offline["n_examples"] > 0
    for key in METRICS:
        assert online[key] == pytest.approx(offline[key], abs=0.002), key
    for label, figures in offline["per_behavior"].items():
        assert online["per_behavior"][label]["n_examples"] == figures["n_examples"]

    # at-least-once output: a top-20 for every applied event
    topic = Names(settings.namespace).recommendations
    recs = [decode_recommendation(v) for v in read_topic(settings, topic)]
    assert {(r.session_id, r.seq) for r in recs} == {
        (replay.corpus.session_ids[i], seq)
        for i in replay.indices
        for seq in range(len(replay.corpus.sessions[i]))
    }
    assert all(len(r.items) == len(r.scores) == 20 for r in recs)
    assert read_topic(settings, Names(settings.namespace).dlq) == []


def test_generated_sessions_two_consumers_four_partitions(
    generated_model: TinyModel, servers: Endpoints, tmp_path: Path
) -> None:
    replay_and_check(generated_model, servers, tmp_path, sessions=1000, consumers=2)


def test_diginetica_log_through_the_pipeline(
    diginetica_model: TinyModel, servers: Endpoints, tmp_path: Path
) -> None:
    replay_and_check(diginetica_model, servers, tmp_path, sessions=0, consumers=2)
