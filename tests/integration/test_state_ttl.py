"""Session state expires on the real Valkey: the TTL the store sets reclaims every live
session's hash and its memory, with nothing deleting them but the server."""

from __future__ import annotations

import time

import pytest

from streamrec.clients import RedisClient, redis_client
from streamrec.config import Settings
from streamrec.consumer.state import APPLIED, EventWrite
from streamrec.consumer.store import SessionStore
from streamrec.contract.names import Names
from tests.backends import Endpoints
from tests.integration.helpers import isolated_settings

pytestmark = pytest.mark.integration
SESSIONS = 2000
TTL_S = 1.5
DB = 9  # a database of its own: its keyspace line counts only these sessions


def _expiring_keys(client: RedisClient) -> int:
    """Keys with a TTL in database ``DB`` (INFO keyspace: reading it touches no key, so it
    does not expire any lazily)."""
    info = client.info("keyspace")
    return int(info.get(f"db{DB}", {}).get("expires", 0))


def test_the_ttl_reclaims_live_sessions(servers: Endpoints) -> None:
    url = servers.redis_url.rsplit("/", 1)[0] + f"/{DB}"
    settings = isolated_settings(Settings(), servers, redis_url=url, session_ttl=TTL_S)
    client = redis_client(settings)
    names = Names(settings.namespace)
    store = SessionStore(client, names, settings.max_len, settings.session_ttl)
    before = int(client.info("memory")["used_memory"])
    writes = [
        EventWrite(
            session_id=f"ttl-{i}", seq=0, items=list(range(i % 25 + 1)),
            topk_items=list(range(20)), topk_scores=[1.0 - k / 20 for k in range(20)],
            behavior="explorer", evaluation=None,
        )
        for i in range(SESSIONS)
    ]  # fmt: skip
    written_at = time.monotonic()
    assert store.apply(writes) == [APPLIED] * SESSIONS
    assert _expiring_keys(client) == SESSIONS
    peak = int(client.info("memory")["used_memory"])
    assert peak - before > SESSIONS * 100  # the sessions take memory to give back

    deadline = written_at + TTL_S + 30.0
    while _expiring_keys(client) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _expiring_keys(client) == 0, "the server did not expire the sessions in time"
    assert time.monotonic() - written_at >= TTL_S  # expired by the TTL, not before it
    after = int(client.info("memory")["used_memory"])
    assert peak - after > 0.8 * (peak - before)  # most of it given back (totals stay)
    assert store.read(["ttl-0", f"ttl-{SESSIONS - 1}"])["ttl-0"].last_seq == -1
