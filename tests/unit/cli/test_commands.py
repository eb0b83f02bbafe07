"""Handlers without servers: consume's checkpoint hint, produce/report waits, produce's summary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import confluent_kafka.admin
import pytest
import redis
from confluent_kafka import KafkaException

import streamrec.clients
import streamrec.consumer.main
import streamrec.producer.replay
from streamrec.cli.exits import EXIT_FAILED, EXIT_OK, EXIT_UNREACHABLE, EXIT_USAGE
from streamrec.config import Settings
from streamrec.producer.replay import ReplayResult
from tests.unit.cli.helpers import run_main


def test_consume_without_a_checkpoint_says_how_to_get_one(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    status, _, err = run_main(capsys, "consume", "--metrics-port", "0")
    assert status == EXIT_USAGE
    assert err.strip().splitlines()[-1] == (
        "streamrec: error: no checkpoint at artifacts/model.pt; train one with "
        "`streamrec train --out artifacts/model.pt` (the full recipe)"
    )


def test_consume_offers_the_demos_quick_model(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "artifacts").mkdir()
    (tmp_path / "artifacts" / "quick-model.pt").write_bytes(b"checkpoint")
    status, _, err = run_main(capsys, "consume")
    assert status == EXIT_USAGE
    assert err.strip().endswith(
        "(the full recipe), or serve the quick model the demo trained: "
        "--model artifacts/quick-model.pt"
    )


def test_consume_serves_metrics_on_the_configured_host(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = tmp_path / "model.pt"
    model.write_bytes(b"checkpoint")
    served: list[tuple[Settings, str, bool, bool]] = []

    def fake_run_consumer(settings: Settings, stop: Any, reload: Any) -> None:
        served.append((settings, settings.metrics_host, stop(), reload()))

    monkeypatch.setattr(streamrec.consumer.main, "run_consumer", fake_run_consumer)
    status, _, _ = run_main(capsys, "consume", "--model", str(model), "--metrics-host", "0.0.0.0")
    assert status == EXIT_OK
    [(settings, host, stopping, reloading)] = served
    assert settings.model_path == model and host == "0.0.0.0" and not stopping and not reloading


class DeadAdmin:
    """An AdminClient whose broker never answers."""

    def __init__(self, _conf: dict[str, Any]) -> None:
        pass

    def list_topics(self, timeout: float) -> None:
        raise KafkaException("no broker")


class DeadRedis:
    """A Redis client whose server never answers."""

    def ping(self) -> None:
        raise redis.ConnectionError("refused")


def test_produce_says_what_it_waits_for_and_how_to_start_it(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # streamrec.clients imports the admin client when it waits (not at import: report's start)
    monkeypatch.setattr(confluent_kafka.admin, "AdminClient", DeadAdmin)
    status, _, err = run_main(capsys, "produce", "--users", "40", "--connect-timeout", "0.1")
    assert status == EXIT_UNREACHABLE
    assert err.strip().splitlines() == [
        "streamrec: waiting up to 0.1s for Kafka at 127.0.0.1:19092",
        "streamrec: error: Kafka at 127.0.0.1:19092 not reachable after 0.1s; "
        "start them with: streamrec services up",
    ]


def test_report_says_what_it_waits_for_and_how_to_start_it(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(streamrec.clients, "redis_client", lambda _settings: DeadRedis())
    status, _, err = run_main(capsys, "report", "--connect-timeout", "0.1")
    assert status == EXIT_UNREACHABLE
    assert err.strip().splitlines() == [
        "streamrec: waiting up to 0.1s for Redis at redis://127.0.0.1:16379/0",
        "streamrec: error: Redis at redis://127.0.0.1:16379/0 not reachable after 0.1s; "
        "start them with: streamrec services up",
    ]


class FakeProducer:
    """Stands in for ClickProducer: reports progress, returns a set result."""

    result = ReplayResult(sent=500, acknowledged=500, failed=0, seconds=2.0, sessions=321)
    last_lag: float | None = None

    def __init__(self, _settings: Settings) -> None:
        pass

    def replay(self, _sessions: object, progress: Any = None, **_: object) -> ReplayResult:
        progress(self.result.sent, self.result.sent)
        return self.result


@pytest.fixture
def fake_kafka(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(streamrec.clients, "wait_for_kafka", lambda *_a, **_k: None)
    monkeypatch.setattr(streamrec.clients, "ensure_topics", lambda *_a, **_k: {})
    monkeypatch.setattr(streamrec.producer.replay, "ClickProducer", FakeProducer)


@pytest.mark.usefixtures("fake_kafka")
def test_produce_reports_the_sessions_it_touched_and_plain_progress(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, err = run_main(capsys, "produce", "--users", "300", "--limit", "500")
    assert status == EXIT_OK
    assert out == "sent 500 events from 321 sessions in 2.0s (250 ev/s acknowledged)\n"
    assert err.startswith("producing: 500/500 (100%)")  # stderr is no terminal here


@pytest.mark.usefixtures("fake_kafka")
def test_produce_fails_with_1_when_events_are_not_acknowledged(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    failed = ReplayResult(
        sent=100, acknowledged=97, failed=3, seconds=1.0, sessions=9, last_error="timed out"
    )
    monkeypatch.setattr(FakeProducer, "result", failed)
    status, _, err = run_main(capsys, "produce", "--users", "300", "--no-progress")
    assert status == EXIT_FAILED
    assert err == (
        "streamrec: error: 3 of 100 events were not acknowledged by the broker "
        "(last error: timed out)\n"
    )
