"""What the consumer produces: recommendations and dead-letter records (at-least-once).

Nothing is committed past output the broker has not acknowledged: the batch waits on
``flush`` before it writes state or commits offsets. A message the producer finally gives up
on (after ``message.timeout.ms``) is counted in ``streamrec_output_delivery_failures`` and
logged; it is not produced again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from confluent_kafka import KafkaError, Message, Producer

from streamrec.consumer.telemetry import ConsumerMetrics
from streamrec.contract.messages import (
    Headers,
    dlq_headers,
    dlq_source,
    encode_recommendation,
    encode_recommendation_json,
)
from streamrec.contract.names import Names

log = logging.getLogger("streamrec.consumer")
FLUSH_WAIT_S = 5.0


class Outputs:
    """Produces recommendations and DLQ records through one producer, and waits for them."""

    def __init__(
        self,
        producer: Producer,
        names: Names,
        model_version: str,
        metrics: ConsumerMetrics,
        should_stop: Callable[[], bool],
    ) -> None:
        self.producer = producer
        self.names = names
        self.model_version = model_version
        self.metrics = metrics
        self.should_stop = should_stop
        self._recommendations = names.recommendations
        self._on_delivery = self._delivered  # one bound method, not one per message

    def recommend(
        self, session_id: str, seq: int, items: Sequence[int], scores: Sequence[float], ts: float
    ) -> None:
        """Queue the top-K after ``seq`` (``items`` are event-side ids)."""
        body = encode_recommendation(session_id, seq, items, scores, self.model_version, ts)
        self._produce(self._recommendations, session_id.encode(), body)

    def recommend_encoded(
        self,
        session_id: str,
        seq: int,
        items_json: bytes,
        scores_json: bytes,
        ts: float,
        model_version: str | None = None,
    ) -> None:
        """``recommend`` with the items and scores already JSON arrays (a batch's rows);
        ``model_version``: the model that made them when not the served one (A/B)."""
        version = self.model_version if model_version is None else model_version
        body = encode_recommendation_json(session_id, seq, items_json, scores_json, version, ts)
        self._produce(self._recommendations, session_id.encode(), body)

    def dead_letter(self, msg: Message, reason: str, detail: str) -> None:
        """Queue ``msg`` unchanged for the DLQ with the contract's headers."""
        source = dlq_source(msg.topic(), msg.partition(), msg.offset())
        self._produce(self.names.dlq, msg.key(), msg.value(), dlq_headers(reason, detail, source))

    def flush(self) -> bool:
        """Wait until every queued message is acknowledged (or given up). False if asked to
        stop first: the batch must then not be committed."""
        waited = False
        while self.producer.flush(FLUSH_WAIT_S) > 0:
            if not waited:
                log.warning("waiting for Kafka to acknowledge outputs before committing")
                waited = True
            if self.should_stop():
                return False
        return True

    def close(self, timeout: float) -> int:
        """Last flush at exit; returns how many messages were still not acknowledged."""
        return int(self.producer.flush(timeout))

    def _delivered(self, err: KafkaError | None, _msg: Message) -> None:
        # Called only for failures ("delivery.report.only.error").
        if err is not None:
            self.metrics.output_delivery_failures.inc()
            log.error("delivery failed: %s", err)

    def _produce(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | str | None,
        headers: Headers | None = None,
    ) -> None:
        while True:
            try:
                self.producer.produce(
                    topic, value=value, key=key, headers=headers, on_delivery=self._on_delivery
                )
                return
            except BufferError:  # local queue full: serve delivery reports, then try again
                self.producer.poll(0.1)
