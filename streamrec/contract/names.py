"""The one place that knows Kafka topic names and Redis key names.

Topics are the contract names (``clicks``, ``clicks.dlq``, ``recommendations``), optionally
prefixed by a namespace so several pipelines (tests, demos) can share one broker and one Redis.

Redis Cluster: a session's state and the online totals it updates must be written by one
atomic script, so they must live in one hash slot. Sessions are therefore spread over
``N_SHARDS`` shards by a stable hash of the session id, and each key carries its shard as the
hash tag: ``streamrec:<ns>:{s07}:session:<id>`` and ``streamrec:<ns>:{s07}:totals``. Reports
sum the shards' totals.

Online totals are kept per model: the primary's (and every event outcome) in ``...:totals``,
a second model's in ``...:totals:<label>`` of the same slot (``MODEL_LABELS``: ``shadow`` when
it scores every event beside the primary, ``secondary`` when it serves its own share of the
sessions), so one script call updates a session and every model's totals atomically.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

N_SHARDS = 64
PRIMARY = "primary"
SHADOW = "shadow"
SECONDARY = "secondary"
MODEL_LABELS = (PRIMARY, SHADOW, SECONDARY)


@dataclass(frozen=True)
class Names:
    """Topic and key names for one namespace ("" is the default pipeline).

    ``shards`` is how many shards sessions are spread over; every process of a pipeline must
    use the same (the default, ``N_SHARDS``, except in the benchmark that measures its cost).
    """

    namespace: str = ""
    shards: int = N_SHARDS

    def _topic(self, base: str) -> str:
        return f"{self.namespace}.{base}" if self.namespace else base

    @property
    def clicks(self) -> str:
        """Click events, keyed by session id."""
        return self._topic("clicks")

    @property
    def dlq(self) -> str:
        """Invalid click events with the reason."""
        return self._topic("clicks.dlq")

    @property
    def recommendations(self) -> str:
        """Top-K recommendations after each applied event."""
        return self._topic("recommendations")

    @property
    def topics(self) -> tuple[str, str, str]:
        """Every topic of this namespace: clicks, its dead-letter topic, recommendations."""
        return (self.clicks, self.dlq, self.recommendations)

    @property
    def learner_group(self) -> str:
        """The online learner's consumer group on the clicks topic (``streamrec learn``):
        its own group, so it reads every click beside the serving consumers."""
        return self._topic("streamrec-learner")

    @property
    def key_prefix(self) -> str:
        """Prefix of every Redis key of this namespace."""
        return f"streamrec:{self.namespace}:" if self.namespace else "streamrec:"

    def shard_of(self, session_id: str) -> int:
        """Stable shard of a session (crc32, independent of Python's hash seed)."""
        return zlib.crc32(session_id.encode("utf-8")) % self.shards

    def session_key(self, session_id: str) -> str:
        """Hash with the session's window, last seq and last top-K."""
        return self.session_key_in(self.shard_of(session_id), session_id)

    def session_key_in(self, shard: int, session_id: str) -> str:
        """``session_key(session_id)`` when its shard is known already."""
        return f"{self.key_prefix}{{s{shard:02d}}}:session:{session_id}"

    def totals_key_for(self, session_id: str) -> str:
        """The online-totals hash in the same slot as ``session_key(session_id)``."""
        return self.totals_key(self.shard_of(session_id))

    def totals_key(self, shard: int, model: str = PRIMARY) -> str:
        """Online totals of one shard for one model (``MODEL_LABELS``)."""
        if model not in MODEL_LABELS:
            raise ValueError(f"unknown model label {model!r}")
        suffix = "" if model == PRIMARY else f":{model}"
        return f"{self.key_prefix}{{s{shard:02d}}}:totals{suffix}"

    def all_totals_keys(self, model: str = PRIMARY) -> list[str]:
        """One model's totals keys of every shard."""
        return [self.totals_key(s, model) for s in range(self.shards)]

    @property
    def stats_key(self) -> str:
        """Counters not tied to a session (invalid events)."""
        return f"{self.key_prefix}stats"

    @property
    def key_patterns(self) -> tuple[str, ...]:
        """SCAN MATCH patterns that find every key of this namespace and no other's.

        The default namespace's prefix ``streamrec:`` begins every other namespace's keys too
        (``streamrec:<ns>:``), so its patterns name its own keys: the shard-tagged ones and
        the stats hash. Namespaces hold only letters, digits, '-' and '_' (``Settings``),
        none of them special in a pattern, and never ':'.
        """
        if self.namespace:
            return (f"{self.key_prefix}*",)
        return (f"{self.key_prefix}{{s*", self.stats_key)

    def key_kind(self, key: str) -> str:
        """What a key of this namespace holds: ``session``, ``totals``, ``stats`` or
        ``other``."""
        rest = key[len(self.key_prefix) :] if key.startswith(self.key_prefix) else ""
        if rest == "stats":
            return "stats"
        if ":session:" in rest:
            return "session"
        return "totals" if ":totals" in rest else "other"
