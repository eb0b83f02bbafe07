"""Redis round trips retry through outages; the metrics show the outage; stopping gives up."""

from __future__ import annotations

import logging

import pytest
import redis

from streamrec.consumer.store import MAX_BACKOFF_S, RedisRetry
from streamrec.consumer.telemetry import ConsumerMetrics


class Flaky:
    """Fails ``failures`` times with a connection error, then returns ``value``."""

    def __init__(self, failures: int, value: str = "ok") -> None:
        self.failures = failures
        self.value = value
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise redis.ConnectionError("connection refused")
        return self.value


def sample(metrics: ConsumerMetrics, name: str) -> float | None:
    return metrics.registry.get_sample_value(name)


def test_retries_with_growing_backoff_until_redis_answers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    metrics = ConsumerMetrics()
    sleeps: list[float] = []
    up_while_down: list[float | None] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        up_while_down.append(sample(metrics, "streamrec_redis_up"))

    retry = RedisRetry(lambda: False, metrics, sleep)
    operation = Flaky(failures=8)
    with caplog.at_level(logging.WARNING, logger="streamrec.consumer"):
        assert retry(operation) == "ok"
    assert operation.calls == 9
    assert sleeps == [0.1, 0.2, 0.4, 0.8, 1.6, 3.2, MAX_BACKOFF_S, MAX_BACKOFF_S]
    assert set(up_while_down) == {0.0}
    assert sample(metrics, "streamrec_redis_up") == 1.0
    assert sample(metrics, "streamrec_redis_errors_total") == 8.0
    messages = [r.message for r in caplog.records]
    assert len(messages) == 2  # one line when it goes, one when it is back
    assert "Redis unavailable" in messages[0] and "Redis is back" in messages[1]


def test_a_healthy_round_trip_touches_no_metric() -> None:
    metrics = ConsumerMetrics()
    retry = RedisRetry(lambda: False, metrics, lambda _s: pytest.fail("slept"))
    assert retry(Flaky(failures=0, value="x")) == "x"
    assert sample(metrics, "streamrec_redis_errors_total") == 0.0
    assert sample(metrics, "streamrec_redis_up") == 1.0


def test_gives_up_only_when_stopping() -> None:
    metrics = ConsumerMetrics()
    stopping = [False]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) == 3:
            stopping[0] = True  # SIGTERM arrives during the outage

    operation = Flaky(failures=100)
    assert RedisRetry(lambda: stopping[0], metrics, sleep)(operation) is None
    assert operation.calls == 4 and len(sleeps) == 3
    assert sample(metrics, "streamrec_redis_up") == 0.0  # still down when it gave up


def test_other_redis_errors_are_not_retried() -> None:
    metrics = ConsumerMetrics()

    def broken() -> None:
        raise redis.ResponseError("NOSCRIPT")

    with pytest.raises(redis.ResponseError):
        RedisRetry(lambda: False, metrics, lambda _s: None)(broken)
    assert sample(metrics, "streamrec_redis_errors_total") == 0.0
