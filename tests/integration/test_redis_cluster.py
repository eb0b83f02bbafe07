"""The pipeline on a real three-master Valkey Cluster that this module starts.

The cluster runs from the same ``valkey-server`` binary as the embedded Valkey, in cluster
mode, with the slots split in three by the harness (``streamrec.pipeline.valkey_cluster``);
Kafka is the session's test broker. Whatever backend the rest of the session uses, these
tests start their own cluster.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from streamrec.clients import ensure_topics, redis_client, wait_for_redis
from streamrec.config import Settings
from streamrec.consumer.state import APPLIED, DUPLICATE, EventWrite
from streamrec.consumer.store import APPLY_EVENTS_LUA, SessionStore
from streamrec.consumer.totals import OnlineTotals, read_totals
from streamrec.contract.names import SHADOW, Names
from streamrec.model.evaluation.ranking import RankingTotals
from streamrec.pipeline.demo import offline_report
from streamrec.pipeline.processes import start_consumers, stop_consumers, wait_for_assignment
from streamrec.pipeline.scrape import metric_sum, scrape
from streamrec.pipeline.valkey_cluster import EmbeddedValkeyCluster, cluster_info
from streamrec.producer.sources import ReplaySessions, replay_sessions
from streamrec.redis_scripts import PipelinedScript
from tests.backends import Endpoints
from tests.integration.helpers import (
    assert_state_matches,
    isolated_settings,
    log_tails,
    poll_until,
    stream_under_way,
    wait_for_redis_outage,
)
from tests.integration.test_pipeline import METRICS, replay_and_check
from tests.integration.test_second_model_totals import click, shadow_writes
from tests.models import TinyModel

pytestmark = pytest.mark.integration
CLUSTER_WAIT_S = 90.0  # a cluster's failover and slot moves take longer than one server's


@pytest.fixture(scope="module")
def valkey_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedValkeyCluster]:
    """Three masters on free loopback ports, slots 0-5460, 5461-10921, 10922-16383."""
    cluster = EmbeddedValkeyCluster.on_free_ports(tmp_path_factory.mktemp("cluster"), masters=3)
    cluster.start(timeout=60)
    try:
        yield cluster
    finally:
        cluster.stop()


def per_node_totals(cluster: EmbeddedValkeyCluster, names: Names) -> list[dict[str, float]]:
    """Each master's own totals (its shards' hashes summed), read without the cluster client."""
    out = []
    for node in cluster.nodes:
        client = cluster.node_client(node)
        sums: dict[str, float] = {}
        for key in client.scan_iter(match=f"{names.key_prefix}{{s*}}:totals", count=1000):
            for raw, value in client.hgetall(key).items():
                field = raw.decode() if isinstance(raw, bytes) else str(raw)
                sums[field] = sums.get(field, 0.0) + float(value)
        out.append(sums)
    return out


def session_keys_per_node(cluster: EmbeddedValkeyCluster, names: Names) -> list[int]:
    """How many session hashes of ``names`` each master holds."""
    return [
        sum(1 for _ in cluster.node_client(n).scan_iter(match=f"{names.key_prefix}*:session:*"))
        for n in cluster.nodes
    ]


def test_the_cluster_harness_serves_every_slot(valkey_cluster: EmbeddedValkeyCluster) -> None:
    for node in valkey_cluster.nodes:
        info = cluster_info(valkey_cluster.node_client(node))
        assert (info["cluster_state"], info["cluster_known_nodes"]) == ("ok", "3")
        assert info["cluster_slots_ok"] == "16384"
    status = valkey_cluster.status()
    assert len(status) == 3 and all(s["running"] for s in status.values())


def test_pipeline_on_a_three_master_cluster(
    generated_model: TinyModel,
    servers: Endpoints,
    valkey_cluster: EmbeddedValkeyCluster,
    tmp_path: Path,
) -> None:
    # every event applied once, state of every session, online == offline within 0.002, a
    # recommendation per event: the same checks as on one Redis
    settings, totals = replay_and_check(
        generated_model, servers, tmp_path, 600, 2, redis_url=valkey_cluster.url
    )
    assert settings.redis_cluster
    names = Names(settings.namespace)

    # the keys really are spread: every master holds sessions and shard totals
    assert all(count > 0 for count in session_keys_per_node(valkey_cluster, names))
    nodes = per_node_totals(valkey_cluster, names)
    assert all(node.get("applied", 0) > 0 for node in nodes), nodes

    # `streamrec report` sums every shard on every master
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMREC_")}
    report = subprocess.run(
        [sys.executable, "-m", "streamrec", "report", "--json",
         "--redis-url", valkey_cluster.url, "--namespace", settings.namespace],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert report.returncode == 0, report.stderr
    reported = json.loads(report.stdout)
    assert reported == json.loads(json.dumps(totals.report()))
    by_node = {field: sum(node.get(field, 0.0) for node in nodes) for field in ("n", "h10")}
    assert reported["events"]["applied"] == sum(node["applied"] for node in nodes)
    assert reported["n_examples"] == by_node["n"] > 0
    assert reported["hit_at_10"] == pytest.approx(by_node["h10"] / by_node["n"], abs=1e-12)


def test_scripts_are_reloaded_on_a_master_that_lost_them(
    valkey_cluster: EmbeddedValkeyCluster, tmp_path: Path
) -> None:
    settings = Settings().with_overrides({"redis_url": valkey_cluster.url, "namespace": "flush"})
    client = wait_for_redis(settings)
    store = SessionStore(client, Names("flush"), 25, 600)
    sha = PipelinedScript(client, APPLY_EVENTS_LUA).sha

    def writes(seq: int) -> list[EventWrite]:
        return [
            EventWrite(f"session-{i}", seq, [i, seq], [7, 8], [0.5, 0.25], "explorer", None)
            for i in range(300)
        ]

    assert store.apply(writes(0)) == [1] * 300
    # a master that restarted (or was flushed) has no script: its calls answer NOSCRIPT
    flushed = valkey_cluster.node_client(valkey_cluster.nodes[1])
    flushed.script_flush()
    assert flushed.script_exists(sha) == [False]
    assert store.apply(writes(1)) == [1] * 300
    assert store.apply(writes(1)) == [0] * 300  # and nothing ran twice: now duplicates
    assert flushed.script_exists(sha) == [True]
    totals = read_totals(redis_client(settings), Names("flush"))
    assert (totals.applied, totals.duplicate, totals.gap) == (600, 300, 0)
    assert all(count > 0 for count in session_keys_per_node(valkey_cluster, Names("flush")))


def test_shadow_totals_share_the_session_slot_on_a_cluster(
    valkey_cluster: EmbeddedValkeyCluster,
) -> None:
    # a shadow's totals hash is a third key of each shard call: on a cluster it must be in
    # the session's slot (redis-py refuses a cross-slot call), and its totals stay exact
    settings = Settings().with_overrides({"redis_url": valkey_cluster.url, "namespace": "shd"})
    client = wait_for_redis(settings)
    names = Names("shd")
    store = SessionStore(client, names, 4, 600, second_model=SHADOW)
    sids = [f"session-{i}" for i in range(300)]
    first = [click(sid, 0, 7) for sid in sids]
    second = [click(sid, 1, 1) for sid in sids]  # rank 1 for the primary, 3 for the shadow
    assert store.apply(shadow_writes(store, first)) == [APPLIED] * 300
    writes = shadow_writes(store, second)
    assert store.apply(writes) == [APPLIED] * 300
    assert store.apply(writes) == [DUPLICATE] * 300
    totals = read_totals(redis_client(settings), names)
    assert set(totals.models) == {"primary", "shadow"}
    for label, rank in (("primary", 1), ("shadow", 3)):
        got, want = totals.models[label].overall, RankingTotals.from_ranks([rank] * 300)
        assert (got.n, got.hits_10, got.hits_20) == (want.n, want.hits_10, want.hits_20)
        assert got.rr_sum_20 == pytest.approx(want.rr_sum_20)
    assert (totals.applied, totals.duplicate) == (600, 300)
    assert all(count > 0 for count in session_keys_per_node(valkey_cluster, names))


def test_a_master_killed_mid_stream_is_survived_exactly(
    generated_model: TinyModel, servers: Endpoints, tmp_path: Path
) -> None:
    cluster = EmbeddedValkeyCluster.on_free_ports(tmp_path / "own-cluster", masters=3)
    cluster.start(timeout=60)
    try:
        settings, replay, totals = _kill_a_master_mid_stream(
            cluster, generated_model, servers, tmp_path
        )
        # applied exactly once (calls that reached the live masters during the outage were
        # retried and then counted as duplicates, which change nothing)
        assert totals.applied == replay.n_events and (totals.gap, totals.invalid) == (0, 0)
        assert_state_matches(settings, replay)
    finally:
        cluster.stop()
    online, offline = totals.report(), offline_report(generated_model.path, replay)
    assert online["n_examples"] == offline["n_examples"] > 0
    for key in METRICS:
        assert online[key] == pytest.approx(offline[key], abs=0.002), key


def _kill_a_master_mid_stream(
    cluster: EmbeddedValkeyCluster, model: TinyModel, servers: Endpoints, tmp_path: Path
) -> tuple[Settings, ReplaySessions, OnlineTotals]:
    """Replay at 600 ev/s into one consumer; SIGKILL a master mid-stream, restart it once
    the consumer has retried a few times; the totals once every event is applied."""
    settings = isolated_settings(model.settings, servers, partitions=4, redis_url=cluster.url)
    ensure_topics(settings)
    replay = replay_sessions(settings, held_out_only=True, max_sessions=300)
    consumers = start_consumers(settings, model.path, 1, tmp_path)
    try:
        wait_for_assignment(consumers, 4)
        url, names = consumers[0].metrics_url, Names(settings.namespace)
        producer = stream_under_way(settings, replay, timeout=CLUSTER_WAIT_S)
        # a crash of one master: its third of the slots is gone until it restarts
        assert cluster.stop_node(cluster.nodes[1], sig=signal.SIGKILL)
        wait_for_redis_outage(url, timeout=CLUSTER_WAIT_S)
        assert consumers[0].proc.poll() is None, "consumer died while a master was down"
        cluster.start_node(cluster.nodes[1])  # same files: its identity, slots and AOF
        cluster.wait_ok(timeout=90)
        producer.result(timeout=180)
        poll_until(
            lambda: read_totals(redis_client(settings), names).applied >= replay.n_events,
            "not every event was applied after the master came back",
            timeout=180,
        )
        totals = read_totals(redis_client(settings), names)
        assert metric_sum([scrape(url)], "streamrec_redis_up") == 1
    finally:
        codes = stop_consumers(consumers)
    log = consumers[0].log_path.read_text()
    assert codes == [0], log_tails([consumers[0].log_path])
    assert "Redis unavailable" in log and "Redis is back" in log
    return settings, replay, totals


def test_reset_finds_and_deletes_a_namespace_on_every_master(
    valkey_cluster: EmbeddedValkeyCluster, servers: Endpoints
) -> None:
    from streamrec.namespace_data import delete_keys, held_sessions, namespace_keys

    gone = Settings().with_overrides({"redis_url": valkey_cluster.url, "namespace": "gone"})
    kept = gone.with_overrides({"namespace": "kept"})
    client = wait_for_redis(gone)
    ids = [f"s{i}" for i in range(200)]  # spread over the 64 shards, so over every master
    for settings in (gone, kept):
        names = Names(settings.namespace)
        for sid in ids:
            client.hset(names.session_key(sid), "seq", "0")
            client.hincrby(names.totals_key_for(sid), "applied", 1)
    names = Names("gone")
    assert all(count > 0 for count in session_keys_per_node(valkey_cluster, names))
    assert held_sessions(client, names, [*ids[:50], "never-sent"]) == 50
    shards = len({names.shard_of(sid) for sid in ids})
    assert len(list(namespace_keys(client, names))) == len(ids) + shards

    # the CLI, as a user runs it (Kafka: the session's broker, where this namespace has none)
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMREC_")}
    reset = subprocess.run(
        [sys.executable, "-m", "streamrec", "reset", "--yes", "--redis-url", valkey_cluster.url,
         "--kafka-bootstrap", servers.kafka_bootstrap, "--namespace", "gone"],
        capture_output=True, text=True, env=env, timeout=120, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert reset.returncode == 0, reset.stderr
    assert reset.stdout.splitlines()[-1] == (
        f"deleted no topics and {len(ids) + shards} Redis keys ({len(ids)} sessions, "
        f"{shards} totals hashes)"
    )
    assert session_keys_per_node(valkey_cluster, names) == [0, 0, 0]
    assert held_sessions(client, names, ids) == 0
    assert len(list(namespace_keys(client, Names("kept")))) == len(ids) + shards
    assert delete_keys(client, Names("kept"))["session"] == len(ids)
