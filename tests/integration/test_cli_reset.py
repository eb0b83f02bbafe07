"""Starting over: ``produce`` warns when Redis holds its sessions, ``reset`` deletes one
namespace's topics and keys (asking first), and a produce after it is applied again."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from streamrec.cli.commands.reset import NEEDS_YES
from streamrec.clients import ensure_topics, redis_client, wait_for_kafka
from streamrec.config import Settings
from streamrec.contract.names import Names
from streamrec.namespace_data import namespace_keys
from streamrec.pipeline.processes import start_consumers, stop_consumers, wait_for_assignment
from streamrec.producer.sources import replay_sessions
from tests.backends import Endpoints
from tests.integration.helpers import isolated_settings, log_tails, wait_for_totals
from tests.models import TinyModel

pytestmark = pytest.mark.integration
SESSIONS = 20


def cli_env(settings: Settings) -> dict[str, str]:
    """The environment of a user pointed at the test servers and ``settings``' namespace."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMREC_")}
    env.update(
        STREAMREC_KAFKA_BOOTSTRAP=settings.kafka_bootstrap,
        STREAMREC_REDIS_URL=settings.redis_url,
        STREAMREC_NAMESPACE=settings.namespace,
        STREAMREC_USERS=str(settings.users),
        STREAMREC_PARTITIONS=str(settings.partitions),
    )
    return env


def cli(settings: Settings, *args: str, **how: object) -> subprocess.CompletedProcess[str]:
    """``streamrec ARGS`` as the user runs it, stdin not a terminal unless ``how`` says."""
    how.setdefault("stdin", subprocess.DEVNULL)
    return subprocess.run(
        [sys.executable, "-m", "streamrec", *args],
        capture_output=True, text=True, env=cli_env(settings), timeout=180, **how,  # type: ignore[call-overload]
    )  # fmt: skip


def produce(settings: Settings) -> tuple[int, list[str]]:
    """``produce --sessions SESSIONS``: events sent and its stderr lines."""
    result = cli(settings, "produce", "--sessions", str(SESSIONS), "--no-progress")
    assert result.returncode == 0, result.stderr
    return int(result.stdout.split()[1].replace(",", "")), result.stderr.strip().splitlines()


def keys_of(settings: Settings) -> list[str]:
    return list(namespace_keys(redis_client(settings), Names(settings.namespace)))


def topics_of(settings: Settings) -> list[str]:
    present = wait_for_kafka(settings).list_topics(timeout=10).topics
    return sorted(t for t in Names(settings.namespace).topics if t in present)


def test_produce_warns_and_reset_starts_the_namespace_over(
    generated_model: TinyModel, servers: Endpoints, tmp_path: Path
) -> None:
    settings = isolated_settings(generated_model.settings, servers, partitions=2, users=300)
    ns = settings.namespace
    # another namespace's topics and state, which the reset must leave alone
    other = isolated_settings(settings, servers)
    ensure_topics(other)
    other_names = Names(other.namespace)
    redis_client(other).hset(other_names.session_key("kept"), "seq", "0")
    redis_client(other).hset(other_names.stats_key, "invalid", "1")

    sent, stderr = produce(settings)
    assert not [line for line in stderr if "warning" in line], stderr  # nothing held yet
    consumers = start_consumers(settings, generated_model.path, 1, tmp_path / "first")
    try:
        wait_for_assignment(consumers, 2)
        assert wait_for_totals(settings, sent).applied == sent
        again, stderr = produce(settings)
        assert again == sent
        assert stderr == [
            f"streamrec: warning: Redis already holds state for {SESSIONS} of the first "
            f"{SESSIONS} sessions to send: their events will count as duplicates, not be "
            f"scored again; to start over, stop the consumers and run `streamrec reset "
            f"--namespace {ns}`"
        ]
        totals = wait_for_totals(settings, 2 * sent)
        assert (totals.applied, totals.duplicate) == (sent, sent)
    finally:
        assert stop_consumers(consumers) == [0], log_tails([c.log_path for c in consumers])

    ids = [
        s.corpus.session_ids[i] for s in [replay_sessions(settings, True, SESSIONS)]
        for i in s.indices
    ]  # fmt: skip
    shards = len({Names(ns).shard_of(sid) for sid in ids})
    topics = f"3 topics ({ns}.clicks, {ns}.clicks.dlq, {ns}.recommendations)"
    keys = f"{SESSIONS + shards} Redis keys ({SESSIONS} sessions, {shards} totals hashes)"

    refused = cli(settings, "reset")  # stdin is /dev/null
    assert refused.returncode == 2
    assert refused.stdout.splitlines() == [
        f"in namespace {ns!r} (Kafka {settings.kafka_bootstrap}, Redis {settings.redis_url}):",
        f"  {topics}",
        f"  {keys}",
    ]
    assert refused.stderr.strip().splitlines() == [f"streamrec: error: {NEEDS_YES}"]
    assert len(keys_of(settings)) == SESSIONS + shards and len(topics_of(settings)) == 3

    reset = cli(settings, "reset", "--yes")
    assert reset.returncode == 0, reset.stderr
    assert reset.stdout.splitlines()[-1] == f"deleted {topics} and {keys}"
    assert keys_of(settings) == [] and topics_of(settings) == []
    kept = [other_names.session_key("kept"), other_names.stats_key]
    assert sorted(keys_of(other)) == sorted(kept)
    assert len(topics_of(other)) == 3
    nothing = cli(settings, "reset")
    assert nothing.returncode == 0
    assert nothing.stdout.startswith(f"nothing to delete in namespace {ns!r}")

    # started over: the same sessions are applied again, none counted as a duplicate
    sent, stderr = produce(settings)
    assert not [line for line in stderr if "warning" in line], stderr
    consumers = start_consumers(settings, generated_model.path, 1, tmp_path / "second")
    try:
        wait_for_assignment(consumers, 2)
        totals = wait_for_totals(settings, sent)
        assert (totals.applied, totals.duplicate) == (sent, 0)
    finally:
        assert stop_consumers(consumers) == [0], log_tails([c.log_path for c in consumers])


def reset_on_a_terminal(settings: Settings, answer: str) -> subprocess.CompletedProcess[str]:
    """``streamrec reset`` with a terminal as stdin, answered ``answer``."""
    controller, terminal = pty.openpty()
    try:
        os.write(controller, f"{answer}\n".encode())  # waits in the terminal until read
        return cli(settings, "reset", stdin=terminal)
    finally:
        os.close(terminal)
        os.close(controller)


def test_reset_asks_once_on_a_terminal(servers: Endpoints) -> None:
    settings = isolated_settings(Settings(), servers)
    names = Names(settings.namespace)
    client = redis_client(settings)
    client.hset(names.session_key("s1"), "seq", "0")
    client.hset(names.totals_key(names.shard_of("s1")), "applied", "1")

    declined = reset_on_a_terminal(settings, "n")
    assert declined.returncode == 1
    assert declined.stderr == "delete them? [y/N] "
    assert declined.stdout.splitlines()[1:] == [
        "  no topics", "  2 Redis keys (1 session, 1 totals hash)", "nothing deleted"
    ]  # fmt: skip
    assert len(keys_of(settings)) == 2

    accepted = reset_on_a_terminal(settings, "y")
    assert accepted.returncode == 0, accepted.stderr
    assert accepted.stdout.splitlines()[-1] == (
        "deleted no topics and 2 Redis keys (1 session, 1 totals hash)"
    )
    assert keys_of(settings) == []
