"""The consumer loop: poll a batch, validate, read state, score, emit, write, commit.

Order of effects per batch (what makes state effectively-once and output at-least-once):
1. decode and validate every message (invalid ones are routed to the DLQ),
2. one round trip reads the state of every session in the batch,
3. the scorer serves every applicable event (later events of a session see earlier ones),
4. their recommendations are produced and acknowledged by the broker,
5. one round trip applies the conditional writes (state + online totals, atomically per
   shard call), then the DLQ records of gaps are produced and flushed,
6. only then are the offsets committed.
A crash anywhere before 6 redelivers the batch; the seq condition turns what was already
applied into counted duplicates, and what was not yet applied is scored and recommended again.
"""

from __future__ import annotations

import logging
import signal
import time
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer

from streamrec.clients import kafka_config, redis_client
from streamrec.config import Settings
from streamrec.consumer.offsets import OffsetTracker, report_commit
from streamrec.consumer.serving import OnlineScorer
from streamrec.consumer.store import (
    APPLIED,
    DUPLICATE,
    GAP,
    EventWrite,
    SessionState,
    SessionStore,
)
from streamrec.consumer.telemetry import ConsumerMetrics
from streamrec.contract.events import ClickEvent, EventError, decode_event
from streamrec.contract.messages import (
    SEQ_GAP,
    UNKNOWN_ITEM,
    dlq_headers,
    dlq_source,
    encode_recommendation,
)
from streamrec.contract.names import Names
from streamrec.model.evaluation.ranking import RankingTotals, rank_in_top_k

log = logging.getLogger("streamrec.consumer")
LAG_REFRESH_S = 2.0


@dataclass
class ConsumerStats:
    """What this process did (its own view; Redis holds the exact totals)."""

    batches: int = 0
    scored: int = 0
    duplicate: int = 0
    gap: int = 0
    invalid: int = 0


@dataclass
class _Planned:
    """An event the batch expects to apply, with where its predecessor's top-K comes from."""

    event: ClickEvent
    dense_item: int
    prefix: list[int]
    slot: int  # row of this event in the batch's forward pass
    prev_slot: int | None  # earlier event of the same session in this batch
    prev_topk: tuple[list[int], list[float]] | None  # from Redis when prev_slot is None


class ClickConsumer:
    """One member of the consumer group."""

    def __init__(self, settings: Settings, scorer: OnlineScorer, metrics: ConsumerMetrics) -> None:
        self.settings = settings
        self.names = Names(settings.namespace)
        self.scorer = scorer
        self.metrics = metrics
        self.stats = ConsumerStats()
        self.stopping = False
        self._invalid_in_batch = 0
        self.consumer = Consumer(
            kafka_config(
                settings,
                **{
                    "group.id": settings.group,
                    "enable.auto.commit": False,
                    "auto.offset.reset": "earliest",
                    "session.timeout.ms": 6000,
                    "heartbeat.interval.ms": 1000,
                    "max.poll.interval.ms": 300_000,
                    # one fetch carries many events: a fetch per event or two was what kept
                    # the embedded broker busiest; at most 10 ms more latency when idle
                    "fetch.min.bytes": 16_384,
                    "fetch.wait.max.ms": 10,
                    "on_commit": report_commit,
                },
            )
        )
        self.offsets = OffsetTracker(self.consumer.commit)
        self.producer = Producer(
            kafka_config(
                settings,
                # acks=all + flush before commit: outputs are at-least-once; only failed
                # deliveries need a report (one Python callback per message was measurable)
                **{"linger.ms": 5, "acks": "all", "delivery.report.only.error": True},
            )
        )
        self.store = SessionStore(
            redis_client(settings), self.names, scorer.max_len, settings.session_ttl
        ).retrying(lambda: self.stopping, metrics)
        self._delivery_failures = 0

    # -- lifecycle -------------------------------------------------------------------------
    def install_signal_handlers(self) -> None:
        """SIGTERM/SIGINT: finish the current batch, commit, leave the group, exit 0."""

        def request_stop(signum: int, _frame: object) -> None:
            log.info("received %s: draining and committing", signal.Signals(signum).name)
            self.stopping = True

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)

    def _on_assign(self, consumer: Consumer, partitions: list[Any]) -> None:
        self.metrics.assigned_partitions.set(len(partitions))
        log.info("assigned partitions %s", sorted(p.partition for p in partitions))

    def _on_revoke(self, consumer: Consumer, partitions: list[Any]) -> None:
        log.info("partitions revoked %s", sorted(p.partition for p in partitions))
        self.offsets.revoke((p.topic, p.partition) for p in partitions)
        self.metrics.assigned_partitions.set(0)
        self.metrics.lag.clear()

    def run(self) -> ConsumerStats:
        """Consume until asked to stop."""
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
            while not self.stopping:
                messages = self._poll_batch()
                if messages:
                    self.process_batch(messages)  # records its offsets only when complete
                # also when idle, so the last batch's offsets do not wait for the next one
                commit_started = time.perf_counter()
                if self.offsets.commit_if_due():
                    self._stage("commit", commit_started)
                if time.monotonic() >= next_lag:
                    self._update_lag()
                    next_lag = time.monotonic() + LAG_REFRESH_S
        finally:
            self.offsets.commit_now()
            self.producer.flush(10)
            self.consumer.close()
            log.info("stopped: %s", self.stats)
        return self.stats

    def _poll_batch(self) -> list[Message]:
        """Wait (up to poll_timeout) for the first message only, then take what else has
        already arrived, up to poll_batch. ``consume(n, timeout)`` alone would wait the whole
        timeout whenever fewer than n messages come, adding it to every event's latency at
        low rates; under load the batch grows by itself while the previous one is processed."""
        first = self.consumer.poll(self.settings.poll_timeout)
        if first is None:
            return []
        rest = self.consumer.consume(self.settings.poll_batch - 1, 0) if (
            self.settings.poll_batch > 1
        ) else []  # fmt: skip
        return [first, *rest]

    def _update_lag(self) -> None:
        """Export, per assigned partition, how far this consumer is behind the end."""
        try:
            assignment = self.consumer.assignment()
            if not assignment:
                return
            for tp in self.consumer.position(assignment):
                # cached: the high watermark of the last fetch response, no broker round trip
                # (the loop must not stall on a metadata request every LAG_REFRESH_S)
                _low, high = self.consumer.get_watermark_offsets(tp, cached=True)
                if high < 0:  # no fetch response for this partition yet
                    continue
                position = tp.offset if tp.offset >= 0 else _low
                self.metrics.lag.labels(str(tp.partition)).set(max(high - position, 0))
        except KafkaException as exc:
            log.debug("lag refresh failed: %s", exc)

    # -- one batch -------------------------------------------------------------------------
    def _stage(self, name: str, since: float) -> float:
        """Observe the time since ``since`` as stage ``name``; returns now."""
        now = time.perf_counter()
        self.metrics.stage.labels(name).observe(now - since)
        return now

    def process_batch(self, messages: list[Message]) -> bool:
        """Apply one polled batch. Returns False if it must not be committed (stopping)."""
        started = time.perf_counter()
        events: list[tuple[ClickEvent, int, Message]] = []
        for msg in messages:
            error = msg.error()
            if error is not None:
                if error.code() != KafkaError._PARTITION_EOF:
                    log.warning("consume error: %s", error)
                continue
            try:
                event = decode_event(msg.value(), self.settings.max_message_bytes)
            except EventError as exc:
                self._to_dlq(msg, exc.reason, str(exc))
                continue
            dense = self.scorer.catalog.to_dense(event.item_id)
            if dense is None:
                self._to_dlq(msg, UNKNOWN_ITEM, f"item_id {event.item_id} not in the catalog")
                continue
            events.append((event, dense, msg))
        self.metrics.batch_size.observe(len(messages))
        self.stats.batches += 1
        self._stage("decode", started)
        if events and self._apply(events) is None:
            return False
        if self._invalid_in_batch:
            count, self._invalid_in_batch = self._invalid_in_batch, 0
            if self.store.add_invalid(count) is None:
                return False
        flush_started = time.perf_counter()
        if not self._flush_outputs():
            return False
        self._stage("flush", flush_started)
        for msg in messages:
            topic, partition, offset = msg.topic(), msg.partition(), msg.offset()
            if msg.error() is None and topic is not None and partition is not None:
                self.offsets.processed(topic, partition, offset or 0)
        return True

    def _plan(
        self, events: list[tuple[ClickEvent, int, Message]], states: dict[str, SessionState]
    ) -> tuple[list[_Planned | None], list[str], list[list[int]]]:
        """Which events apply (seq follows Redis' state, or an earlier event of the batch),
        and the session windows to score for them, in order."""
        planned: list[_Planned | None] = []
        last_slot: dict[str, int] = {}
        keys: list[str] = []
        windows: list[list[int]] = []
        for event, dense, _msg in events:
            state = states[event.session_id]
            if event.seq != state.next_seq:
                planned.append(None)  # duplicate or gap: the script counts it, nothing scored
                continue
            prev_slot = last_slot.get(event.session_id)
            prev_topk = (
                (state.topk_items, state.topk_scores)
                if prev_slot is None and state.topk_items
                else None
            )
            state.items = [*state.items, dense][-self.scorer.max_len :]
            state.last_seq = event.seq
            slot = len(windows)
            windows.append(state.items)
            keys.append(event.session_id)
            last_slot[event.session_id] = slot
            planned.append(_Planned(event, dense, state.items, slot, prev_slot, prev_topk))
        return planned, keys, windows

    def _apply(self, events: list[tuple[ClickEvent, int, Message]]) -> list[int] | None:
        t = time.perf_counter()
        session_ids = list(dict.fromkeys(e.session_id for e, _, _ in events))
        states = self.store.read(session_ids)
        if states is None:
            return None
        t = self._stage("read", t)
        planned, keys, windows = self._plan(events, states)
        top_items: list[list[int]] = []
        top_scores: list[list[float]] = []
        if windows:
            items_np, scores_np = self.scorer.top_k(keys, windows)
            top_items, top_scores = items_np.tolist(), scores_np.tolist()
        scoring_s = time.perf_counter() - t
        self.metrics.score_batch.observe(scoring_s)
        t = self._stage("score", t)
        self._export_cache_counters()

        writes: list[EventWrite] = []
        for event, plan in zip((e for e, _, _ in events), planned):
            if plan is None:
                state = states[event.session_id]
                writes.append(
                    EventWrite(
                        event.session_id,
                        event.seq,
                        state.items,
                        [],
                        [],
                        event.behavior,
                        None,
                        scored=False,
                    )
                )
                continue
            prev: tuple[list[int], list[float]] | None
            if plan.prev_slot is not None:
                prev = (top_items[plan.prev_slot], top_scores[plan.prev_slot])
            else:
                prev = plan.prev_topk
            evaluation = None
            if event.seq > 0 and prev is not None:
                evaluation = RankingTotals.from_rank(rank_in_top_k(*prev, plan.dense_item))
            writes.append(
                EventWrite(
                    event.session_id,
                    event.seq,
                    plan.prefix,
                    top_items[plan.slot],
                    top_scores[plan.slot],
                    event.behavior,
                    evaluation,
                )
            )
        # Recommendations go out and are acknowledged before the state is written: a crash
        # between the two redelivers events that are then applied and recommended again
        # (at-least-once output). The other order would lose them: after a crash the
        # redelivered events would be duplicates, which are not recommended.
        produced_at = time.time()
        for (event, _dense, _msg), write in zip(events, writes, strict=True):
            if write.scored:
                self._emit_recommendation(event, write, produced_at)
        if not self._flush_outputs():
            return None
        t = self._stage("emit", t)
        results = self.store.apply(writes)
        if results is None:
            return None
        self._stage("write", t)
        self._emit_outcomes(events, writes, results)
        log.debug("batch of %d events scored in %.1f ms", len(events), scoring_s * 1000)
        return results

    def _emit_outcomes(
        self,
        events: list[tuple[ClickEvent, int, Message]],
        writes: list[EventWrite],
        results: list[int],
    ) -> None:
        """DLQ records of gaps, and the batch's metrics."""
        written_at = time.time()
        counts = {APPLIED: 0, DUPLICATE: 0, GAP: 0}
        evaluations: dict[str | None, RankingTotals] = {}
        for (event, _dense, msg), write, result in zip(events, writes, results, strict=True):
            counts[result] += 1
            if result == APPLIED:
                self.metrics.latency.observe(max(written_at - event.ts, 0.0))
                if write.evaluation is not None:
                    totals = evaluations.get(event.behavior, RankingTotals())
                    evaluations[event.behavior] = totals + write.evaluation
            elif result == GAP:
                self._to_dlq(
                    msg,
                    SEQ_GAP,
                    f"seq {event.seq} arrived before its predecessors",
                    count_invalid=False,
                )
        for behavior, totals in evaluations.items():
            self.metrics.record_evaluations(behavior, totals)
        for outcome, label in ((APPLIED, "scored"), (DUPLICATE, "duplicate"), (GAP, "gap")):
            if counts[outcome]:
                self.metrics.events.labels(label).inc(counts[outcome])
        self.stats.scored += counts[APPLIED]
        self.stats.duplicate += counts[DUPLICATE]
        self.stats.gap += counts[GAP]

    def _export_cache_counters(self) -> None:
        """Move the incremental scorer's counters into the Prometheus metrics."""
        cache = self.scorer.incremental
        if cache is None:
            return
        counters = cache.counters.take()
        for result, count in counters.by_reason.items():
            self.metrics.scorer_cache.labels(result).inc(count)
        self.metrics.scorer_cache_evictions.inc(counters.evictions)
        self.metrics.scorer_cache_sessions.set(cache.sessions)

    def _flush_outputs(self) -> bool:
        """Wait until every recommendation and DLQ record is acknowledged (at-least-once
        output: offsets move only past delivered output). False if stopping first."""
        waited = False
        while self.producer.flush(5) > 0:
            if not waited:
                log.warning("waiting for Kafka to acknowledge outputs before committing")
                waited = True
            if self.stopping:
                return False
        return True

    # -- outputs ---------------------------------------------------------------------------
    def _delivery(self, err: KafkaError | None, _msg: Message) -> None:
        if err is not None:
            self._delivery_failures += 1
            log.error("delivery failed: %s", err)

    def _emit_recommendation(self, event: ClickEvent, write: EventWrite, ts: float) -> None:
        body = encode_recommendation(
            event.session_id,
            event.seq,
            self.scorer.catalog.to_external(write.topk_items),
            write.topk_scores,
            self.scorer.model_version,
            ts,
        )
        self._produce(self.names.recommendations, event.session_id.encode(), body)

    def _to_dlq(self, msg: Message, reason: str, detail: str, count_invalid: bool = True) -> None:
        source = dlq_source(msg.topic(), msg.partition(), msg.offset())
        self._produce(self.names.dlq, msg.key(), msg.value(), dlq_headers(reason, detail, source))
        if count_invalid:
            self.metrics.events.labels("invalid").inc()
            self.stats.invalid += 1
            self._invalid_in_batch += 1

    def _produce(
        self, topic: str, key: bytes | None, value: bytes | str | None,
        headers: list[tuple[str, str | bytes | None]] | None = None,
    ) -> None:  # fmt: skip
        while True:
            try:
                self.producer.produce(
                    topic, value=value, key=key, headers=headers, on_delivery=self._delivery
                )
                return
            except BufferError:
                self.producer.poll(0.1)
