"""Replay sessions as click events into Kafka, interleaved like live traffic, at a set rate."""

from __future__ import annotations

import itertools
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from confluent_kafka import KafkaError, Message, Producer

from streamrec.clients import click_producer_config
from streamrec.config import Settings
from streamrec.contract.events import ClickEvent
from streamrec.contract.names import Names
from streamrec.producer.sources import ReplaySessions


def interleave(
    sessions: ReplaySessions, concurrency: int, seed: int, round_no: int = 0
) -> Iterator[tuple[str, int, int, str | None]]:
    """(session_id, seq, item_id, behavior) with ``concurrency`` sessions open at once.

    Each step emits the next click of a randomly chosen open session, so a session's clicks
    stay in order while different sessions interleave; a finished session makes room for the
    next one. Rounds after the first (continuous replay) give sessions new ids (``id~rN``),
    so they are new sessions to the consumer, not duplicates.
    """
    suffix = f"~r{round_no}" if round_no else ""
    rng = np.random.default_rng(seed)
    waiting = deque(sessions.indices)
    open_sessions: list[list[int]] = []  # [corpus index, next position]
    items_of: dict[int, list[int]] = {}
    while open_sessions or waiting:
        while len(open_sessions) < concurrency and waiting:
            idx = waiting.popleft()
            items_of[idx] = sessions.external_items(idx)
            open_sessions.append([idx, 0])
        slot = int(rng.integers(len(open_sessions)))
        idx, pos = open_sessions[slot]
        corpus = sessions.corpus
        yield corpus.session_ids[idx] + suffix, pos, items_of[idx][pos], corpus.behaviors[idx]
        if pos + 1 == len(items_of[idx]):
            open_sessions[slot] = open_sessions[-1]
            open_sessions.pop()
            del items_of[idx]
        else:
            open_sessions[slot][1] = pos + 1


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

    @property
    def events_per_second(self) -> float:
        """Achieved acknowledged rate."""
        return self.acknowledged / self.seconds if self.seconds > 0 else 0.0


ProgressHook = Callable[[int, int], None]  # (sent, total)


class ClickProducer:
    """Sends click events keyed by session id and checks every delivery report."""

    def __init__(self, settings: Settings, **kafka_overrides: Any) -> None:
        """``kafka_overrides``: librdkafka settings in place of ``click_producer_config``'s
        (benchmarks vary ``linger.ms``)."""
        self.settings = settings
        self.topic = Names(settings.namespace).clicks
        self.producer = Producer(click_producer_config(settings, **kafka_overrides))
        # lifetime counts of this producer's delivery reports (``replay`` reports per call)
        self.acknowledged = 0
        self.failed = 0
        self.last_error: str | None = None

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
        self.producer.poll(0)

    def flush(self, timeout: float = 120.0) -> int:
        """Wait for delivery reports; returns messages still not reported."""
        return int(self.producer.flush(timeout))

    def replay(
        self,
        sessions: ReplaySessions,
        rate: float = 0.0,
        concurrency: int = 100,
        limit: int = 0,
        seed: int = 0,
        progress: ProgressHook | None = None,
        should_stop: Callable[[], bool] | None = None,
        rounds: int = 1,
        first_round: int = 0,
    ) -> ReplayResult:
        """Send the sessions' clicks; ``rate`` events/s (0: as fast as possible).

        ``rounds``: replay this many times (0: until stopped), each round as new sessions;
        ``first_round`` numbers the rounds from there (distinct ids across several calls).
        """
        per_round = sessions.n_events
        planned = per_round * rounds if rounds > 0 else 0
        total = min(limit, planned) if limit > 0 and planned else (limit or planned)
        started = time.monotonic()
        acknowledged_before, failed_before = self.acknowledged, self.failed
        sent = sessions_touched = 0
        round_numbers = (
            range(first_round, first_round + rounds) if rounds > 0 else itertools.count(first_round)
        )
        events = (
            event
            for round_no in round_numbers
            for event in interleave(sessions, concurrency, seed + round_no, round_no)
        )
        for sid, seq, item, behavior in events:
            if (total and sent >= total) or (should_stop is not None and should_stop()):
                break
            if rate > 0:
                ahead = started + sent / rate - time.monotonic()
                if ahead > 0:
                    self.producer.poll(ahead)
            self.send(ClickEvent(sid, seq, item, time.time(), behavior))
            sent += 1
            sessions_touched += seq == 0
            if progress is not None and sent % 500 == 0:
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
        )
