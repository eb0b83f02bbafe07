"""The consumer loop: poll a batch, have it applied, commit, refresh the lag, stop cleanly.

``ClickConsumer`` is given its clients; ``consumer.main`` builds them. What one batch does,
and in which order, is ``consumer.batch``; when offsets are committed is ``consumer.offsets``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from confluent_kafka import Consumer, KafkaException, Message, Producer

from streamrec.config import Settings
from streamrec.consumer.arms import SecondModel
from streamrec.consumer.batch import BatchProcessor
from streamrec.consumer.follow import VersionFollower
from streamrec.consumer.offsets import OffsetTracker
from streamrec.consumer.outputs import Outputs
from streamrec.consumer.reload import ModelReloader
from streamrec.consumer.serving import ServedModel
from streamrec.consumer.store import SessionStore
from streamrec.consumer.telemetry import ConsumerMetrics
from streamrec.contract.names import Names

log = logging.getLogger("streamrec.consumer")
LAG_REFRESH_S = 2.0
EXIT_FLUSH_S = 10.0


class ClickConsumer:
    """One member of the consumer group, over clients it is given.

    ``consumer`` must be configured with ``enable.auto.commit`` off (offsets are committed
    here, after the batch's output and state) and ``offsets.report_commit`` as ``on_commit``.
    """

    def __init__(
        self,
        settings: Settings,
        consumer: Consumer,
        producer: Producer,
        store: SessionStore,
        scorer: ServedModel,
        metrics: ConsumerMetrics,
        stop: Callable[[], bool],
        reloader: ModelReloader | None = None,
        second: SecondModel | None = None,
        follower: VersionFollower | None = None,
    ) -> None:
        """``follower``: serve the learner's versions (``consume --follow``); ``scorer`` is
        then its version 0, and there is no ``reloader``."""
        self.settings = settings
        self.reloader = reloader
        self.follower = follower
        self.stop_requested = stop
        self.names = Names(settings.namespace)
        self.consumer = consumer
        self.scorer = scorer
        self.metrics = metrics
        self.stopping = False
        self.offsets = OffsetTracker(consumer.commit)
        self.outputs = Outputs(
            producer, self.names, scorer.model_version, metrics, self._is_stopping
        )
        self.batches = BatchProcessor(
            scorer,
            store.retrying(self._is_stopping, metrics),
            self.outputs,
            metrics,
            settings.max_message_bytes,
            second,
            follower,
        )
        metrics.serving_model(scorer.model_version, scorer.meta.architecture)

    def _is_stopping(self) -> bool:
        """Asked to stop (SIGTERM/SIGINT): finish the batch, commit, leave the group."""
        if not self.stopping and self.stop_requested():
            log.info("asked to stop: draining and committing")
            self.stopping = True
        return self.stopping

    def run(self) -> None:
        """Consume until asked to stop; then commit, flush the outputs and leave the group."""
        self.consumer.subscribe(
            [self.names.clicks], on_assign=self._on_assign, on_revoke=self._on_revoke
        )
        log.info(
            "consuming %s as group %s (model %s)",
            self.names.clicks,
            self.settings.group,
            self.scorer.model_version,
        )
        next_lag = 0.0
        try:
            while not self._is_stopping():
                messages = self._poll_batch()
                if messages and self.batches.process(messages):
                    self._mark_processed(messages)
                # also when idle, so the last batch's offsets do not wait for the next one
                commit_started = time.perf_counter()
                if self.offsets.commit_if_due():
                    self.metrics.time_stage("commit", commit_started)
                if time.monotonic() >= next_lag:
                    self._update_lag()
                    next_lag = time.monotonic() + LAG_REFRESH_S
                if self.reloader is not None:
                    new_model = self.reloader.poll(self.scorer)
                    if new_model is not None:
                        self._swap_model(new_model)
                if self.follower is not None:
                    self.follower.poll()  # load the next version aside
        finally:
            if self.reloader is not None:
                self.reloader.close()
            if self.follower is not None:
                self.follower.close()
            self.offsets.commit_now()
            unsent = self.outputs.close(EXIT_FLUSH_S)
            if unsent:
                log.warning("%d outputs were not acknowledged at exit", unsent)
            self.consumer.close()
            log.info("stopped: %s", self.metrics.summary())

    def _swap_model(self, new: ServedModel) -> None:
        """Serve ``new`` from the next batch on (called between batches only: each batch is
        scored and recommended by one model). Session state lives in Redis, so nothing about
        exactly-once changes; the old scorer's per-session cache goes with it, and the new
        one rebuilds sessions from their Redis windows."""
        # The second model (shadow or A/B arm, ``batches.second``) stays: the reloader
        # refuses a candidate whose catalog or window length differs from it.
        old = self.scorer
        self.scorer = self.batches.scorer = new
        self.outputs.model_version = new.model_version
        self.metrics.serving_model(new.model_version, new.meta.architecture)
        self.metrics.scorer_cache_sessions.set(new.cached_sessions())
        log.info("hot swap: serving %s (was %s)", new.model_version, old.model_version)

    def _on_assign(self, _consumer: Consumer, partitions: list[Any]) -> None:
        self.metrics.assigned_partitions.set(len(partitions))
        log.info("assigned partitions %s", sorted(p.partition for p in partitions))

    def _on_revoke(self, _consumer: Consumer, partitions: list[Any]) -> None:
        log.info("partitions revoked %s", sorted(p.partition for p in partitions))
        self.offsets.revoke((p.topic, p.partition) for p in partitions)
        self.metrics.assigned_partitions.set(0)
        self.metrics.lag.clear()

    def _poll_batch(self) -> list[Message]:
        """Wait (up to poll_timeout) for the first message only, then take what else has
        already arrived, up to poll_batch. ``consume(n, timeout)`` alone would wait the whole
        timeout whenever fewer than n messages come, adding it to every event's latency at
        low rates; under load the batch grows by itself while the previous one is processed."""
        first = self.consumer.poll(self.settings.poll_timeout)
        if first is None:
            return []
        if self.settings.poll_batch == 1:
            return [first]
        return [first, *self.consumer.consume(self.settings.poll_batch - 1, 0)]

    def _mark_processed(self, messages: list[Message]) -> None:
        for msg in messages:
            topic, partition, offset = msg.topic(), msg.partition(), msg.offset()
            if msg.error() is None and topic is not None and partition is not None:
                self.offsets.processed(topic, partition, offset or 0)

    def _update_lag(self) -> None:
        """Export, per assigned partition, how far this consumer is behind the end."""
        try:
            assignment = self.consumer.assignment()
            if not assignment:
                return
            for tp in self.consumer.position(assignment):
                # cached: the high watermark of the last fetch response, no broker round trip
                # (the loop must not stall on a metadata request every LAG_REFRESH_S)
                low, high = self.consumer.get_watermark_offsets(tp, cached=True)
                if high < 0:  # no fetch response for this partition yet
                    continue
                position = tp.offset if tp.offset >= 0 else low
                self.metrics.lag.labels(str(tp.partition)).set(max(high - position, 0))
        except KafkaException as exc:
            log.debug("lag refresh failed: %s", exc)
