"""One polled batch: validate, read state, score, emit, write, count.

Order of effects per batch (what makes state effectively-once and output at-least-once):
1. decode and validate every message (invalid ones are routed to the DLQ),
2. one round trip reads the state of every session in the batch,
3. the scorer serves every applicable event (later events of a session see earlier ones),
4. their recommendations are produced and acknowledged by the broker,
5. one round trip applies the conditional writes (state + online totals, atomically per
   shard call), then the DLQ records of gaps are produced and flushed,
6. only then may the loop commit the batch's offsets.
A crash anywhere before 6 redelivers the batch; the seq condition turns what was already
applied into counted duplicates, and what was not yet applied is scored and recommended again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from confluent_kafka import KafkaError, Message

from streamrec.consumer.arms import SecondModel, split_top_k
from streamrec.consumer.catalog_check import CatalogCheck
from streamrec.consumer.follow import BatchModels, VersionFollower
from streamrec.consumer.outputs import Outputs
from streamrec.consumer.planner import (
    BatchEvent,
    BatchPlan,
    ShadowRows,
    build_writes,
    plan_batch,
)
from streamrec.consumer.serving import ServedModel, top_k_by_model
from streamrec.consumer.state import APPLIED, DUPLICATE, GAP, UNKNOWN_ITEM, EventWrite
from streamrec.consumer.store import RetryingSessionStore
from streamrec.consumer.telemetry import ConsumerMetrics
from streamrec.contract.events import ClickEvent, EventError, decode_event
from streamrec.contract.messages import SEQ_GAP, json_rows, message_scores
from streamrec.contract.names import PRIMARY, SECONDARY, SHADOW
from streamrec.model.evaluation.ranking import RankingTotals

log = logging.getLogger("streamrec.consumer")
OUTCOME_LABELS = (
    (APPLIED, "scored"), (DUPLICATE, "duplicate"), (GAP, "gap"), (UNKNOWN_ITEM, "unknown_item"),
)  # fmt: skip


@dataclass
class ScoredRows:
    """The top-K of every scored row of a batch, as the planner needs it (lists) and as it is
    written (JSON arrays, each kind encoded for all rows in one call)."""

    items: list[list[int]]  # raw item ids, best first
    scores: list[list[float]]
    ties: list[int]  # per row, items outside its top-K tied with its last score
    stored: list[tuple[bytes, bytes]]  # per row: items and float32 scores (Redis)
    message_items: list[bytes]  # per row: the items as the recommendation carries them
    message_scores: list[bytes]  # per row: scores rounded as messages carry them
    shadow: ShadowRows | None = None  # the shadow model's rows (shadow scoring)
    second_arm: list[bool] | None = None  # per row: served by the second model (A/B)


class BatchProcessor:
    """Applies polled batches through the store, the scorer and the outputs."""

    def __init__(
        self,
        scorer: ServedModel,
        store: RetryingSessionStore,
        outputs: Outputs,
        metrics: ConsumerMetrics,
        max_message_bytes: int,
        second: SecondModel | None = None,
        follower: VersionFollower | None = None,
    ) -> None:
        self.scorer = scorer
        self.second = second  # a shadow or an A/B arm beside ``scorer``
        # following versions: each event is served by the version its time calls for
        self.follower = follower
        self.store = store
        self.outputs = outputs
        self.metrics = metrics
        self.max_message_bytes = max_message_bytes
        self.catalog_check = CatalogCheck(scorer.model_version, scorer.meta.n_items)

    def process(self, messages: Sequence[Message]) -> bool:
        """Apply one batch. False if it must not be committed (asked to stop mid-way)."""
        started = time.perf_counter()
        decoded: list[ClickEvent] = []
        sources: list[Message] = []
        invalid = 0
        for msg in messages:
            error = msg.error()
            if error is not None:
                if error.code() != KafkaError._PARTITION_EOF:
                    log.warning("consume error: %s", error)
                continue
            try:
                event = decode_event(msg.value(), self.max_message_bytes)
            except EventError as exc:
                self.outputs.dead_letter(msg, exc.reason, str(exc))
                invalid += 1
                continue
            # an item outside the catalog is a valid click (planner)
            decoded.append(event)
            sources.append(msg)
        self.metrics.batch_size.observe(len(messages))
        self.metrics.time_stage("decode", started)
        if invalid:
            self.metrics.events.labels("invalid").inc(invalid)
        if decoded:
            events, served = self._serving(decoded)
            if not self.catalog_check.done:
                first = events[: self.catalog_check.remaining]
                self.catalog_check.observe(len(first), sum(not e.known for e in first))
            if not self._apply(events, served, sources):
                return False
        if invalid and self.store.add_invalid(invalid) is None:
            return False
        flush_started = time.perf_counter()
        if not self.outputs.flush():  # DLQ records
            return False
        self.metrics.time_stage("flush", flush_started)
        return True

    def _serving(self, decoded: list[ClickEvent]) -> tuple[list[BatchEvent], BatchModels]:
        """Which model serves each event: the served one, or (following versions) the
        version its time calls for, waited for if needed."""
        if self.follower is None:
            knows = self.scorer.catalog.knows
            n = len(decoded)
            fixed = BatchModels([self.scorer], [0], [0] * n, [False] * n, [None] * n)
            return [BatchEvent(e, knows(e.item_id)) for e in decoded], fixed
        started = time.perf_counter()
        chosen = self.follower.choose([e.ts for e in decoded])
        self.metrics.time_stage("version", started)
        models = chosen.models
        events = [
            BatchEvent(e, models[m].catalog.knows(e.item_id), m, stale)
            for e, m, stale in zip(decoded, chosen.per_event, chosen.stale, strict=True)
        ]
        return events, chosen

    def _apply(self, events: list[BatchEvent], served: BatchModels, sources: list[Message]) -> bool:
        t = time.perf_counter()
        session_ids = list(dict.fromkeys(e.event.session_id for e in events))
        states = self.store.read(session_ids)
        if states is None:
            return False
        t = self.metrics.time_stage("read", t)
        following = self.follower is not None
        plan = plan_batch(events, states, self.scorer.max_len, following)
        rows = self._score(plan, served.models)
        scoring_s = time.perf_counter() - t
        self.metrics.score_batch.observe(scoring_s)
        t = self.metrics.time_stage("score", t)
        self.metrics.export_scorer_cache(
            self.scorer.cache_counters(), self.scorer.cached_sessions()
        )
        writes = build_writes(
            plan, rows.items, rows.scores, rows.ties, rows.stored, rows.shadow, rows.second_arm
        )

        # Recommendations go out and are acknowledged before the state is written: a crash
        # between the two redelivers events that are then applied and recommended again
        # (at-least-once output). The other order would lose them: after a crash the
        # redelivered events would be duplicates, which are not recommended.
        produced_at = time.time()
        recommend = self.outputs.recommend_encoded
        arm = rows.second_arm
        second_version = self.second.model.model_version if self.second is not None else None
        labels = [m.model_version for m in served.models] if following else None
        for p in plan.events:
            if p.slot is not None:
                event = p.event
                row = p.slot
                if labels is not None:
                    label: str | None = labels[plan.models[row]]
                else:
                    label = second_version if arm is not None and arm[row] else None
                recommend(
                    event.session_id,
                    event.seq,
                    rows.message_items[row],
                    rows.message_scores[row],
                    produced_at,
                    label,
                )
        if not self.outputs.flush():
            return False
        t = self.metrics.time_stage("emit", t)
        results = self.store.apply(writes)
        if results is None:
            return False
        self.metrics.time_stage("write", t)
        self._record_outcomes(events, sources, writes, results, served)
        log.debug("batch of %d events scored in %.1f ms", len(events), scoring_s * 1000)
        return True

    def _score(self, plan: BatchPlan, models: list[ServedModel]) -> ScoredRows:
        if not plan.windows:
            return ScoredRows([], [], [], [], [], [])
        second = self.second
        if second is None:
            return self._rows(*top_k_by_model(models, plan.models, plan.sessions, plan.windows))
        if second.is_shadow:
            rows = self._rows(*top_k_by_model(models, plan.models, plan.sessions, plan.windows))
            items, scores, ties = second.model.top_k(plan.sessions, plan.windows)
            rows.shadow = ShadowRows(
                items.tolist(),
                scores.tolist(),
                ties.tolist(),
                list(zip(json_rows(items), json_rows(scores), strict=True)),
            )
            return rows
        arms = second.arms(plan.sessions)
        rows = self._rows(
            *split_top_k(self.scorer, second.model, plan.sessions, plan.windows, arms)
        )
        rows.second_arm = arms
        return rows

    def _rows(self, items: np.ndarray, scores: np.ndarray, ties: np.ndarray) -> ScoredRows:
        """A batch's top-K rows, encoded for the store and the recommendations."""
        encoded_items = json_rows(items)
        return ScoredRows(
            items=items.tolist(),
            scores=scores.tolist(),
            ties=ties.tolist(),
            stored=list(zip(encoded_items, json_rows(scores), strict=True)),
            message_items=encoded_items,
            message_scores=json_rows(message_scores(scores)),
        )

    def _record_outcomes(
        self,
        events: list[BatchEvent],
        sources: list[Message],
        writes: list[EventWrite],
        results: list[int],
        served: BatchModels,
    ) -> None:
        """DLQ records of gaps, and the batch's metrics."""
        written_at = time.time()
        counts = {APPLIED: 0, DUPLICATE: 0, GAP: 0, UNKNOWN_ITEM: 0}
        evaluations: dict[tuple[str, str | None], RankingTotals] = {}
        applied_ts: list[float] = []
        ages: list[float] = []
        stale = 0
        for index, (item, msg, write, result) in enumerate(
            zip(events, sources, writes, results, strict=True)
        ):
            counts[result] += 1
            if result == APPLIED or (result == UNKNOWN_ITEM and not write.advance_only):
                event = item.event
                applied_ts.append(event.ts)
                age = served.staleness[index]
                if age is not None:
                    ages.append(age)
                stale += write.stale
                if write.evaluation is not None:
                    key = (SECONDARY if write.second_arm else PRIMARY, event.behavior)
                    evaluations[key] = evaluations.get(key, RankingTotals()) + write.evaluation
                if write.shadow_evaluation is not None:
                    key = (SHADOW, event.behavior)
                    evaluations[key] = (
                        evaluations.get(key, RankingTotals()) + write.shadow_evaluation
                    )
            elif result == GAP:
                detail = f"seq {item.event.seq} arrived before its predecessors"
                self.outputs.dead_letter(msg, SEQ_GAP, detail)
        if applied_ts:
            latencies = written_at - np.asarray(applied_ts, dtype=np.float64)
            self.metrics.latency.observe_many(np.maximum(latencies, 0.0))
        if ages:
            self.metrics.version_staleness.observe_many(ages)
        if stale:
            self.metrics.stale_serves.inc(stale)
        for (model, behavior), totals in evaluations.items():
            self.metrics.record_evaluations(behavior, totals, model)
        for outcome, label in OUTCOME_LABELS:
            if counts[outcome]:
                self.metrics.events.labels(label).inc(counts[outcome])
