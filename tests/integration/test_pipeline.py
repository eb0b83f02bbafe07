"""Replay held-out sessions through real servers and consumer processes; online == offline."""

from __future__ import annotations

from pathlib import Path

import pytest

from streamrec.clients import ensure_topics
from streamrec.config import ARCHITECTURES, Settings
from streamrec.consumer.totals import OnlineTotals
from streamrec.contract.messages import decode_recommendation
from streamrec.contract.names import Names
from streamrec.model.evaluation.workflow import evaluate_named
from streamrec.pipeline.demo import offline_report
from streamrec.pipeline.processes import start_consumers, stop_consumers, wait_for_assignment
from streamrec.producer.replay import ClickProducer
from streamrec.producer.sources import replay_sessions
from tests.backends import Endpoints
from tests.conftest import yoochoose_path
from tests.integration.helpers import (
    assert_state_matches,
    isolated_settings,
    log_tails,
    read_topic,
    wait_for_totals,
)
from tests.models import TinyModel, train_tiny_model

pytestmark = pytest.mark.integration
METRICS = ("hit_at_10", "hit_at_20", "mrr_at_20")


def replay_and_check(
    model: TinyModel,
    servers: Endpoints,
    tmp_path: Path,
    sessions: int,
    consumers: int,
    **overrides: object,
) -> tuple[Settings, OnlineTotals]:
    """Replay, then check every promise; returns the settings used (``overrides`` applied,
    e.g. another ``redis_url``) and the online totals, for further checks."""
    settings = isolated_settings(model.settings, servers, partitions=4, **overrides)
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
    offline = offline_report(
        model.path,
        replay,
        retrieval=settings.retrieval,
        candidates=settings.candidates,
        ann_probes=settings.ann_probes,
    )
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
    return settings, totals


def test_generated_sessions_two_consumers_four_partitions(
    generated_model: TinyModel, servers: Endpoints, tmp_path: Path
) -> None:
    replay_and_check(generated_model, servers, tmp_path, sessions=1000, consumers=2)


def test_diginetica_log_through_the_pipeline(
    diginetica_model: TinyModel, servers: Endpoints, tmp_path: Path
) -> None:
    replay_and_check(diginetica_model, servers, tmp_path, sessions=0, consumers=2)


def _log_with_new_items(source: Path, out: Path, every: int = 7) -> int:
    """``source`` (session-rec) with an item no model knows inserted first, in the middle or
    last of every ``every``-th session; returns how many were inserted."""
    header, *rows = source.read_text().splitlines()
    sessions: dict[str, list[list[str]]] = {}
    for row in rows:
        fields = row.split("\t")
        sessions.setdefault(fields[0], []).append(fields)
    inserted = 0
    lines = [header]
    for n, (sid, clicks) in enumerate(sessions.items()):
        clicks.sort(key=lambda f: float(f[2]))
        if n % every == 0:
            where = (0, len(clicks) // 2, len(clicks))[(n // every) % 3]
            time = float(clicks[min(where, len(clicks) - 1)][2]) + (0.5 if where else -0.5)
            clicks.insert(where, [sid, str(9_000_000_000 + n), f"{time:.3f}"])
            inserted += 1
        lines += ["\t".join(f) for f in clicks]
    out.write_text("\n".join(lines) + "\n")
    return inserted


def test_a_log_with_new_items_never_stalls_and_online_equals_offline(
    yoochoose_model: TinyModel, servers: Endpoints, tmp_path: Path
) -> None:
    log = tmp_path / "valid-with-new-items.txt"
    inserted = _log_with_new_items(yoochoose_path() / "train_valid.txt", log)
    settings = isolated_settings(yoochoose_model.settings, servers, partitions=4).with_overrides(
        {"csv_path": str(log)}
    )
    ensure_topics(settings)
    replay = replay_sessions(settings, held_out_only=True, max_sessions=1500)
    new_clicks = sum(
        1 for i in replay.indices for item in replay.external_items(i) if item >= 9_000_000_000
    )
    assert inserted > 100 and new_clicks > 50
    procs = start_consumers(settings, yoochoose_model.path, 2, tmp_path)
    try:
        wait_for_assignment(procs, settings.partitions)
        result = ClickProducer(settings).replay(replay, concurrency=100, seed=3)
        assert result.failed == 0 and result.sent == replay.n_events
        totals = wait_for_totals(settings, result.sent)
    finally:
        codes = stop_consumers(procs)
    assert codes == [0, 0], log_tails([p.log_path for p in procs])
    # every event accounted for: scored or a new item; nothing stalled behind a new item
    assert (totals.unknown_item, totals.applied) == (new_clicks, replay.n_events - new_clicks)
    assert (totals.gap, totals.duplicate, totals.invalid) == (0, 0, 0)
    assert read_topic(settings, Names(settings.namespace).dlq) == []
    # offline, the session-rec protocol on exactly the replayed sessions: new items removed,
    # then every next click predicted
    replayed = tmp_path / "replayed.txt"
    keep = {replay.corpus.session_ids[i] for i in replay.indices}
    header, *rows = log.read_text().splitlines()
    replayed.write_text("\n".join([header, *(r for r in rows if r.split("\t")[0] in keep)]) + "\n")
    offline = evaluate_named(
        settings.with_overrides({"csv_path": str(replayed)}), model_path=yoochoose_model.path
    )
    assert offline["dropped_unknown_clicks"] == new_clicks
    online = totals.report()
    assert online["n_examples"] == offline["n_examples"] > 1000
    for key in METRICS:
        assert online[key] == pytest.approx(offline[key], abs=0.002), key


@pytest.mark.parametrize("name", [a for a in ARCHITECTURES if a != "lstm-attn"])
def test_every_architecture_serves_online_what_it_scores_offline(
    name: str, servers: Endpoints, tmp_path: Path
) -> None:
    model = train_tiny_model(tmp_path / f"{name}.pt", architecture=name)
    replay_and_check(model, servers, tmp_path, sessions=300, consumers=1)
