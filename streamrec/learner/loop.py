"""The learner's loop: read clicks, cut them at boundaries, learn, publish versions.

``OnlineLearner`` is given its Kafka consumer, the ``StreamLearner`` and the publisher
(``learner.main`` builds them). It reads the clicks topic as its own consumer group, starting
each partition at the offset of the version it resumes from (``learner.publisher``); every
click it reads waits in the ``StreamCutter`` until the watermark passes the next boundary,
then goes into that version. See ``learner.cutter`` for the watermark, idle partitions and
late clicks.

One learner per version directory: a lock file keeps a second one from writing beside it
(the kernel drops the lock when the process dies, SIGKILL included).
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, TopicPartition

from streamrec.contract.events import EventError, decode_event
from streamrec.contract.names import Names
from streamrec.learner.cutter import StreamCutter
from streamrec.learner.publisher import LearnerError, Resume, VersionPublisher
from streamrec.learner.telemetry import LearnerMetrics
from streamrec.model.versions import Schedule, read_schedule, write_schedule
from streamrec.model.zoo.updates import ClickBatch, StreamLearner

log = logging.getLogger("streamrec.learner")
POLL_BATCH = 1000
POLL_TIMEOUT_S = 0.05
LOCK_FILE = ".learner.lock"


def session_key(session_id: str) -> int:
    """A session id as the int64 key a ``ClickBatch`` carries (stable across processes)."""
    digest = hashlib.blake2b(session_id.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def lock_directory(directory: Path) -> int:
    """Hold ``directory``'s learner lock (``LearnerError`` when another learner has it);
    returns the descriptor that keeps it."""
    directory.mkdir(parents=True, exist_ok=True)
    fd = os.open(directory / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise LearnerError(f"another learner is writing {directory}") from None
    return fd


class OnlineLearner:
    """One learner process over the clicks topic and a version directory."""

    def __init__(
        self,
        consumer: Consumer,
        names: Names,
        learner: StreamLearner,
        publisher: VersionPublisher,
        metrics: LearnerMetrics,
        refresh_s: float,
        idle_timeout_s: float,
        stop: Callable[[], bool],
        budget_s: float | None = None,
        max_message_bytes: int = 65_536,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.consumer = consumer
        self.names = names
        self.learner = learner
        self.publisher = publisher
        self.metrics = metrics
        self.refresh_s = refresh_s
        self.stop = stop
        self.budget_s = budget_s
        self.max_message_bytes = max_message_bytes
        self.clock = clock
        self.cutter = StreamCutter(idle_timeout_s)
        self.resume = Resume(0, {}, {}, 0)
        self.schedule: Schedule | None = None

    @property
    def version(self) -> int:
        """The last version published."""
        return self.resume.version

    def run(self) -> None:
        """Resume from the directory, then learn until ``stop()``."""
        self.resume = self.publisher.start(self.learner)
        self.schedule = read_schedule(self.publisher.directory)
        if self.schedule is not None and self.schedule.refresh_s != self.refresh_s:
            raise LearnerError(
                f"{self.publisher.directory} was scheduled every {self.schedule.refresh_s:g}s, "
                f"not {self.refresh_s:g}s (--refresh); use another --out-dir"
            )
        self.metrics.version.set(self.version)
        self.metrics.catalog_size.set(len(self.learner.catalog))
        self._assign_all()
        log.info("learning from %s as group %s", self.names.clicks, self.names.learner_group)
        try:
            while not self.stop():
                for msg in self.consumer.consume(POLL_BATCH, POLL_TIMEOUT_S):
                    self._read(msg)
                self._note_positions()
                self._advance()
        finally:
            self.consumer.close()
            log.info("stopped after version %d", self.version)

    def _read(self, msg: Any) -> None:
        error = msg.error()
        if error is not None:
            if error.code() != KafkaError._PARTITION_EOF:
                log.warning("consume error: %s", error)
            return
        partition = msg.partition()
        if partition not in self.cutter.partitions:
            return
        try:
            event = decode_event(msg.value(), self.max_message_bytes)
        except EventError:
            self.metrics.invalid_events.inc()
            # an invalid message still moves the partition on
            self.cutter.partitions[partition].next_offset = msg.offset() + 1
            return
        self.cutter.add(
            partition,
            msg.offset(),
            event.ts,
            session_key(event.session_id),
            event.item_id,
            self.clock(),
        )

    def _note_positions(self) -> None:
        now = self.clock()
        idle = 0
        for p, mark in self.cutter.partitions.items():
            try:
                _, high = self.consumer.get_watermark_offsets(
                    TopicPartition(self.names.clicks, p), cached=True
                )
            except KafkaException:
                continue
            self.cutter.note_position(p, high >= 0 and mark.next_offset >= high, now)
            idle += self.cutter.idle(p, now)
        self.metrics.idle_partitions.set(idle)
        self.metrics.pending.set(self.cutter.pending())
        watermark = self.cutter.watermark(now)
        if watermark is not None:
            self.metrics.watermark.set(watermark)

    def _advance(self) -> None:
        """Fix t0 once it can be, then publish every version whose boundary was passed."""
        now = self.clock()
        if self.schedule is None:
            t0 = self.cutter.first_time(now)
            if t0 is None:
                return
            self.schedule = Schedule(t0, self.refresh_s)
            write_schedule(self.publisher.directory, self.schedule)
            log.info("schedule fixed: t0 = %.3f, a version every %gs", t0, self.refresh_s)
        while True:
            watermark = self.cutter.watermark(now)
            due = self.schedule.boundary(self.version + 1)
            if watermark is None or watermark < due:
                return
            self._publish_next(due)
            if self.stop():
                return

    def _publish_next(self, due: float) -> None:
        assert self.schedule is not None
        started = time.perf_counter()
        cut = self.cutter.take_before(due)
        self.learner.learn(ClickBatch(cut.sessions, cut.items, cut.times))
        model, report = self.learner.publish(self.budget_s)
        version = self.version + 1
        total = self.resume.clicks_total + len(cut)
        self.publisher.publish(
            version, model, self.learner.catalog, report, self.learner.state(), self.schedule,
            cut.offsets, cut.marks, total,
        )  # fmt: skip
        self.resume = Resume(version, cut.offsets, cut.marks, total)
        seconds = time.perf_counter() - started
        self.metrics.update_seconds.observe(seconds)
        self.metrics.clicks_learned.inc(len(cut))
        self.metrics.version.set(version)
        self.metrics.catalog_size.set(report.catalog_size)
        log.info(
            "published version %d: %d clicks learned, %d new items, %d items, %.3fs",
            version, len(cut), report.new_items, report.catalog_size, seconds,
        )  # fmt: skip
        self._commit(cut.offsets)

    def _commit(self, offsets: dict[int, int]) -> None:
        """Tell the group how far versions go (monitoring; the learner resumes from the
        version's own offsets)."""
        if not offsets:
            return
        try:
            self.consumer.commit(
                offsets=[TopicPartition(self.names.clicks, p, o) for p, o in offsets.items()],
                asynchronous=True,
            )
        except KafkaException as exc:
            log.debug("offset commit failed: %s", exc)

    def _assign_all(self) -> None:
        """Read every partition of the clicks topic, each from the offset of the version it
        resumes (its start when the version has none). Assigned, not subscribed: the learner
        must see all partitions to know the watermark, so a group rebalance must never split
        them (the group id only carries the committed offsets, for lag monitoring)."""
        topic = self.names.clicks
        metadata = self.consumer.list_topics(topic, timeout=30).topics.get(topic)
        if metadata is None or metadata.error is not None or not metadata.partitions:
            raise LearnerError(f"topic {topic} has no partitions to learn from")
        partitions = []
        for p in sorted(metadata.partitions):
            start = self.resume.offsets.get(p)
            partitions.append(
                TopicPartition(topic, p, start if start is not None else OFFSET_BEGINNING)
            )
            self.cutter.assign(p, start or 0, self.resume.marks.get(p))
        self.consumer.assign(partitions)
        self.metrics.assigned_partitions.set(len(partitions))
        log.info(
            "reading partitions %s from offsets %s",
            [tp.partition for tp in partitions],
            {p: self.resume.offsets.get(p, "start") for p in self.cutter.partitions},
        )
