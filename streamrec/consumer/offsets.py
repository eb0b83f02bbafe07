"""Offsets of processed messages, and when they are committed.

Only offsets of fully processed batches are recorded here, so a commit never moves past output
that was not delivered or state that was not written. Events after the last committed offset
are redelivered after a crash or a rebalance, where the seq condition counts them as
duplicates.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable

from confluent_kafka import KafkaError, KafkaException, TopicPartition

log = logging.getLogger("streamrec.consumer")
# Each request costs the embedded broker about a millisecond of CPU, so commits are spaced out;
# a crash redelivers at most this much more, which the seq condition counts as duplicates.
COMMIT_EVERY_S = 0.25


class OffsetTracker:
    """Processed-but-uncommitted offsets per partition, and the commit policy.

    In the poll loop a commit is asynchronous and at most every ``every_s`` seconds (no broker
    round trip per batch); on revoke and at exit it is synchronous. A commit that raises keeps
    the offsets for the next try (a later offset of the same partition replaces them).

    ``commit`` is called as ``commit(offsets=[TopicPartition, ...], asynchronous=bool)``, the
    signature of ``confluent_kafka.Consumer.commit``; ``clock`` returns seconds.
    """

    def __init__(
        self,
        commit: Callable[..., object],
        clock: Callable[[], float] = time.monotonic,
        every_s: float = COMMIT_EVERY_S,
    ) -> None:
        self._commit = commit
        self._clock = clock
        self.every_s = every_s
        self._pending: dict[tuple[str, int], int] = {}
        self._next_commit = float("-inf")

    @property
    def pending(self) -> dict[tuple[str, int], int]:
        """(topic, partition) -> the offset a commit would store (last processed + 1)."""
        return dict(self._pending)

    def processed(self, topic: str, partition: int, offset: int) -> None:
        """The message at ``offset`` and every one before it in its partition are done."""
        self._pending[(topic, partition)] = offset + 1

    def commit_if_due(self) -> bool:
        """In the loop: commit asynchronously if offsets are pending and the last try is at
        least ``every_s`` old. Returns whether a commit was tried."""
        if not self._pending or self._clock() < self._next_commit:
            return False
        self._send(asynchronous=True)
        self._next_commit = self._clock() + self.every_s
        return True

    def commit_now(self) -> bool:
        """Commit synchronously (revoke, exit). Returns whether nothing is left pending."""
        return self._send(asynchronous=False)

    def revoke(self, partitions: Iterable[tuple[str, int]]) -> None:
        """Commit what is pending, then forget the revoked partitions: they are not ours any
        more, whether or not that commit went through."""
        self.commit_now()
        for key in partitions:
            self._pending.pop(key, None)

    def _send(self, asynchronous: bool) -> bool:
        if not self._pending:
            return True
        offsets = [TopicPartition(t, p, o) for (t, p), o in self._pending.items()]
        try:
            self._commit(offsets=offsets, asynchronous=asynchronous)
        except KafkaException as exc:
            log.warning("offset commit failed (retried with the next commit): %s", exc)
            return False
        self._pending.clear()
        return True


def report_commit(err: KafkaError | None, partitions: list[TopicPartition]) -> None:
    """librdkafka's ``on_commit`` callback: log a failed (asynchronous) commit."""
    failed = [p.partition for p in partitions if p.error is not None]
    if err is not None or failed:
        log.warning("offset commit failed for partitions %s: %s", failed or "all", err)
