"""Replay sessions as click events into Kafka, each sent when its clock says it is due."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from confluent_kafka import KafkaError, Message, Producer

from streamrec.clients import click_producer_config
from streamrec.config import Settings
from streamrec.contract.events import ClickEvent
from streamrec.contract.names import Names
from streamrec.producer.expected import planned_events
from streamrec.producer.file_source import FileSessions
from streamrec.producer.interleave import interleave as interleave  # re-exported
from streamrec.producer.sources import ReplaySessions
from streamrec.producer.timeline import timeline
from streamrec.traffic.clock import ClockSpec
from streamrec.traffic.pacing import Pacer, PacingReport

PROGRESS_EVERY = 500  # events between progress calls ...
PROGRESS_INTERVAL_S = 1.0  # ... or seconds, whichever comes first (slow clocks)


@dataclass
class ReplayResult:
    """What one ``replay`` call sent and what the broker acknowledged of it.

    Every count is of this call alone, also on a producer used for several calls.
    """

    sent: int  # events queued
    acknowledged: int  # of those, delivered (acks=all)
    failed: int  # of those, refused by the broker or still undelivered after the flush
    seconds: float
    sessions: int  # sessions touched: at least their first click was sent
    last_error: str | None = None  # the last delivery error of this call
    pacing: PacingReport | None = None  # scheduled vs achieved send times (paced clocks)
    clock_started: float = 0.0  # wall-clock time (unix seconds) of the schedule's time 0

    @property
    def events_per_second(self) -> float:
        """Achieved acknowledged rate."""
        return self.acknowledged / self.seconds if self.seconds > 0 else 0.0


ProgressHook = Callable[[int, int], None]  # (sent, total)
SessionHook = Callable[[str], None]  # (session id) right after its first click was queued


class ClickProducer:
    """Sends click events keyed by session id and checks every delivery report."""

    def __init__(self, settings: Settings, **kafka_overrides: Any) -> None:
        """``kafka_overrides``: librdkafka settings in place of ``click_producer_config``'s
        (benchmarks vary ``linger.ms``)."""
        self.settings = settings
        self.topic = Names(settings.namespace).clicks
        self.producer = Producer(click_producer_config(settings, **kafka_overrides))
        # lifetime counts of events queued and of delivery reports (``replay`` reports per call)
        self.queued = 0
        self.acknowledged = 0
        self.failed = 0
        self.last_error: str | None = None
        self.last_lag: float | None = None  # seconds the last paced event went out late

    def _on_delivery(self, err: KafkaError | None, _msg: Message) -> None:
        if err is None:
            self.acknowledged += 1
        else:
            self.failed += 1
            self.last_error = str(err)

    def send(self, event: ClickEvent) -> None:
        """Queue one event (waits for room when the local queue is full)."""
        while True:
            try:
                self.producer.produce(
                    self.topic,
                    key=event.session_id.encode(),
                    value=event.encode(),
                    on_delivery=self._on_delivery,
                )
                break
            except BufferError:
                self.producer.poll(0.05)
        self.queued += 1
        self.producer.poll(0)

    def flush(self, timeout: float = 120.0) -> int:
        """Wait for delivery reports; returns messages still not reported."""
        return int(self.producer.flush(timeout))

    def _wait(self, seconds: float) -> None:
        """Wait up to ``seconds`` serving delivery reports (sub-millisecond: a plain sleep,
        as the client's poll counts whole milliseconds)."""
        if seconds >= 0.001:
            self.producer.poll(seconds)
        else:
            time.sleep(seconds)

    def replay(
        self,
        sessions: ReplaySessions | FileSessions,
        rate: float = 0.0,
        concurrency: int = 100,
        limit: int = 0,
        seed: int = 0,
        progress: ProgressHook | None = None,
        should_stop: Callable[[], bool] | None = None,
        rounds: int = 1,
        first_round: int = 0,
        clock: ClockSpec | None = None,
        on_session_start: SessionHook | None = None,
        on_sent: Callable[[ClickEvent], None] | None = None,
    ) -> ReplayResult:
        """Send the sessions' clicks, each when ``clock`` has it due (default: the flat clock,
        ``rate`` events/s, 0: as fast as possible; ``concurrency`` sessions open at once).

        ``rounds``: replay this many times (0: until stopped), each round as new sessions;
        ``first_round`` numbers the rounds from there (distinct ids across several calls).
        ``on_session_start`` is called with each session's id as its first click is sent,
        ``on_sent`` with every event as it was queued (its event time included).
        """
        clock = clock or ClockSpec()
        total = planned_events(sessions.n_events, rounds, limit)
        acknowledged_before, failed_before = self.acknowledged, self.failed
        sent = sessions_touched = 0
        events = timeline(sessions, clock, rate, concurrency, seed, rounds, first_round)
        first = next(events, None)  # the schedule is built before the clock starts
        pacer = Pacer(self._wait, seed=seed)
        clock_started = time.time()
        started = shown_at = pacer.start
        for due, sid, seq, item, behavior in itertools.chain([first] if first else [], events):
            if (total and sent >= total) or (should_stop is not None and should_stop()):
                break
            if due is not None:
                if not pacer.wait_until(due, should_stop):
                    break
                self.last_lag = pacer.record(due)
            event = ClickEvent(sid, seq, item, time.time(), behavior)
            self.send(event)
            if on_sent is not None:
                on_sent(event)
            sent += 1
            if seq == 0:
                sessions_touched += 1
                if on_session_start is not None:
                    on_session_start(sid)
            if progress is not None and (
                sent % PROGRESS_EVERY == 0 or time.monotonic() - shown_at >= PROGRESS_INTERVAL_S
            ):
                shown_at = time.monotonic()
                progress(sent, total)
        remaining = self.flush()
        if progress is not None:
            progress(sent, total)
        return ReplayResult(
            sent=sent,
            acknowledged=self.acknowledged - acknowledged_before,
            failed=self.failed - failed_before + remaining,
            seconds=time.monotonic() - started,
            sessions=sessions_touched,
            last_error=self.last_error if self.failed > failed_before else None,
            pacing=pacer.report(),
            clock_started=clock_started,
        )
