"""Waiting for servers: said once at the start, and a failure that says how to start them."""

from __future__ import annotations

import logging
from typing import Any

import pytest
import redis

import streamrec.clients
from streamrec.clients import UnreachableError, wait_for_redis
from streamrec.config import Settings


class FlakyRedis:
    """Refuses ``refusals`` PINGs, then answers."""

    def __init__(self, refusals: int) -> None:
        self.refusals = refusals

    def ping(self) -> bool:
        if self.refusals:
            self.refusals -= 1
            raise redis.ConnectionError("refused")
        return True


def use_redis(monkeypatch: pytest.MonkeyPatch, client: Any) -> None:
    monkeypatch.setattr(streamrec.clients, "redis_client", lambda _settings: client)


def test_nothing_is_said_when_the_server_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    said: list[str] = []
    client = FlakyRedis(0)
    use_redis(monkeypatch, client)
    assert wait_for_redis(Settings(), on_wait=said.append) is client
    assert said == []


def test_the_wait_is_said_once(monkeypatch: pytest.MonkeyPatch) -> None:
    said: list[str] = []
    use_redis(monkeypatch, FlakyRedis(2))
    wait_for_redis(Settings(connect_timeout=30), on_wait=said.append)
    assert said == ["waiting up to 30s for Redis at redis://127.0.0.1:16379/0"]


def test_without_a_hook_the_wait_is_logged(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    use_redis(monkeypatch, FlakyRedis(1))
    with caplog.at_level(logging.WARNING, logger="streamrec.clients"):
        wait_for_redis(Settings())
    assert [r.getMessage() for r in caplog.records] == [
        "waiting up to 30s for Redis at redis://127.0.0.1:16379/0"
    ]


def test_the_hint_is_given_for_the_embedded_address_only(monkeypatch: pytest.MonkeyPatch) -> None:
    use_redis(monkeypatch, FlakyRedis(10**6))
    with pytest.raises(UnreachableError) as embedded:
        wait_for_redis(Settings(connect_timeout=0.01), on_wait=lambda _: None)
    assert str(embedded.value).endswith("; start them with: streamrec services up")
    elsewhere = Settings(connect_timeout=0.01, redis_url="redis://db.internal:6379/0")
    with pytest.raises(UnreachableError) as other:
        wait_for_redis(elsewhere, on_wait=lambda _: None)
    assert str(other.value) == "Redis at redis://db.internal:6379/0 not reachable after 0.01s"


def test_repeated_kafka_log_lines_are_folded() -> None:
    import logging

    from streamrec.clients import RepeatFilter

    folded = RepeatFilter(window=60)

    def record(msg: str) -> logging.LogRecord:
        return logging.LogRecord("k", logging.ERROR, __file__, 1, msg, None, None)

    assert folded.filter(record("Connect to 127.0.0.1:1234 failed"))
    assert not folded.filter(record("Connect to 127.0.0.1:1234 failed"))
    assert not folded.filter(record("Connect to 127.0.0.1:5678 failed"))  # same kind
    assert folded.filter(record("something else"))
