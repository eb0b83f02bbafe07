"""What one namespace holds on the servers: its Kafka topics and its Redis keys.

``survey`` finds them (topics by name, keys by SCAN, on every master of a Redis Cluster),
``delete_topics`` and ``delete_keys`` remove them (``streamrec reset``), and
``held_sessions`` says how many of some session ids already have state in Redis (``streamrec
produce`` warns that their events would count as duplicates). Every name comes from
``contract.names``.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice

import redis
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from streamrec.clients import WAITED_FOR, RedisClient, UnreachableError, redis_client
from streamrec.config import Settings
from streamrec.contract.names import Names

SCAN_COUNT = 1000  # keys SCAN looks at per call
DELETE_BATCH = 500  # keys per UNLINK
TOPIC_WAIT_S = 30.0  # how long deleted topics may take to leave the broker's metadata
KIND_NOUNS = {  # ``Names.key_kind`` -> (one, several)
    "session": ("session", "sessions"),
    "totals": ("totals hash", "totals hashes"),
    "stats": ("stats hash", "stats hashes"),
    "other": ("other key", "other keys"),
}
UNANSWERED: tuple[type[Exception], ...] = (redis.RedisError, *WAITED_FOR)


@dataclass
class NamespaceData:
    """A namespace's topics that exist and its Redis keys counted by kind."""

    topics: list[str] = field(default_factory=list)
    keys: Counter[str] = field(default_factory=Counter)  # kind (``Names.key_kind``) -> count

    @property
    def empty(self) -> bool:
        """Nothing to delete."""
        return not self.topics and not sum(self.keys.values())

    def describe_keys(self) -> str:
        """``1,234 Redis keys (1,100 sessions, 133 totals hashes, 1 stats hash)``."""
        total = sum(self.keys.values())
        kinds = ", ".join(
            f"{n:,} {KIND_NOUNS[kind][n != 1]}" for kind, n in sorted(self.keys.items()) if n
        )
        noun = "key" if total == 1 else "keys"
        return f"{total:,} Redis {noun}" + (f" ({kinds})" if kinds else "")

    def describe_topics(self) -> str:
        """``3 topics (clicks, clicks.dlq, recommendations)``, or ``no topics``."""
        if not self.topics:
            return "no topics"
        noun = "topic" if len(self.topics) == 1 else "topics"
        return f"{len(self.topics)} {noun} ({', '.join(self.topics)})"


def namespace_keys(client: RedisClient, names: Names) -> Iterator[str]:
    """Every Redis key of the namespace (SCAN, which a cluster client runs on every master)."""
    for pattern in names.key_patterns:
        for key in client.scan_iter(match=pattern, count=SCAN_COUNT):
            yield key.decode() if isinstance(key, bytes) else str(key)


def existing_topics(admin: AdminClient, names: Names) -> list[str]:
    """The namespace's topics the broker has."""
    present = admin.list_topics(timeout=10).topics
    return [topic for topic in names.topics if topic in present]


def survey(admin: AdminClient, client: RedisClient, names: Names) -> NamespaceData:
    """The namespace's topics and keys as they are now."""
    keys = Counter(names.key_kind(key) for key in namespace_keys(client, names))
    return NamespaceData(existing_topics(admin, names), keys)


def delete_topics(admin: AdminClient, names: Names, timeout: float = TOPIC_WAIT_S) -> list[str]:
    """Delete the namespace's topics and wait until the broker no longer lists them; returns
    those deleted. Their consumer groups' committed offsets go with them."""
    topics = existing_topics(admin, names)
    if not topics:
        return []
    for topic, future in admin.delete_topics(topics, operation_timeout=timeout).items():
        try:
            future.result(timeout=timeout)
        except KafkaException as exc:
            if "UNKNOWN_TOPIC" not in str(exc):  # gone already: what was wanted
                raise UnreachableError(f"could not delete topic {topic}: {exc}") from None
    deadline = time.monotonic() + timeout
    while existing_topics(admin, names):
        if time.monotonic() > deadline:
            left = ", ".join(existing_topics(admin, names))
            raise UnreachableError(f"topics {left} still listed {timeout:.0f}s after deletion")
        time.sleep(0.1)
    return topics


def delete_keys(client: RedisClient, names: Names) -> Counter[str]:
    """Delete every key of the namespace (one UNLINK per key, pipelined in batches; a cluster
    pipeline sends each to its slot's master); returns the deleted keys counted by kind (a
    key that expired between SCAN and UNLINK is not counted)."""
    deleted: Counter[str] = Counter()
    keys = namespace_keys(client, names)
    while batch := list(islice(keys, DELETE_BATCH)):
        pipe = client.pipeline(transaction=False)
        for key in batch:
            pipe.unlink(key)
        for key, unlinked in zip(batch, pipe.execute(), strict=True):
            if unlinked:
                deleted[names.key_kind(key)] += 1
    return deleted


def held_sessions(client: RedisClient, names: Names, session_ids: Sequence[str]) -> int:
    """How many of ``session_ids`` have state in Redis now (one EXISTS; split by slot on a
    cluster)."""
    if not session_ids:
        return 0
    return int(client.exists(*(names.session_key(sid) for sid in session_ids)))


def redis_if_reachable(settings: Settings) -> RedisClient | None:
    """A client of ``settings.redis_url`` when Redis answers a PING at once, else None: for
    checks that are worth making but not worth waiting or failing for."""
    try:
        client = redis_client(settings)
        client.ping()
    except UNANSWERED:
        return None
    return client
