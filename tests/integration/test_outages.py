"""Redis outages and Redis credentials, on embedded servers this test starts and kills.

These tests own their servers (they SIGKILL and restart Valkey), so they always use the
embedded binaries, whatever backend the rest of the session uses.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from streamrec.clients import ensure_topics
from streamrec.pipeline.processes import start_consumers, stop_consumers, wait_for_assignment
from streamrec.pipeline.scrape import metric_sum, scrape
from streamrec.pipeline.servers import EmbeddedServices, free_port
from streamrec.producer.replay import ClickProducer
from streamrec.producer.sources import replay_sessions
from tests.backends import Endpoints
from tests.integration.helpers import (
    BackgroundReplay,
    assert_same_totals,
    fault_free_run,
    isolated_settings,
    log_tails,
    session_snapshot,
    stream_under_way,
    wait_for_redis_outage,
    wait_for_totals,
)
from tests.models import TinyModel

pytestmark = pytest.mark.integration


@pytest.fixture
def own_servers(tmp_path: Path):
    services = EmbeddedServices(tmp_path / "own", free_port(), free_port())
    services.start()
    yield services
    services.stop()


def test_redis_killed_mid_stream_is_survived_exactly(
    generated_model: TinyModel, servers: Endpoints, own_servers: EmbeddedServices, tmp_path: Path
) -> None:
    ref_settings, replay, reference = fault_free_run(generated_model, servers, tmp_path / "r", 300)
    mine = Endpoints(own_servers.kafka_bootstrap, own_servers.redis_url, "embedded")
    settings = isolated_settings(generated_model.settings, mine, partitions=4)
    ensure_topics(settings)
    consumers = start_consumers(settings, generated_model.path, 1, tmp_path)
    try:
        wait_for_assignment(consumers, 4)
        url = consumers[0].metrics_url
        producer = stream_under_way(settings, replay)
        valkey = own_servers.pid("valkey")
        assert valkey is not None
        os.kill(valkey, signal.SIGKILL)  # a crash: no shutdown, no final AOF rewrite
        wait_for_redis_outage(url)  # Redis stays down through several retries
        assert consumers[0].proc.poll() is None, "consumer died during the Redis outage"
        own_servers.start()  # same port and data dir: Valkey reloads its append-only file
        producer.result(timeout=120)
        totals = wait_for_totals(settings, replay.n_events)
        deadline = time.monotonic() + 60
        while totals.applied < replay.n_events and time.monotonic() < deadline:
            time.sleep(0.5)
            totals = wait_for_totals(settings, replay.n_events)
        text = scrape(consumers[0].metrics_url)
        assert metric_sum([text], "streamrec_redis_up") == 1
        assert metric_sum([text], "streamrec_redis_errors_total") > 0
    finally:
        codes = stop_consumers(consumers)
    log = consumers[0].log_path.read_text()
    assert codes == [0], log_tails([consumers[0].log_path])
    assert "Redis unavailable" in log and "Redis is back" in log
    assert totals.applied == replay.n_events and totals.gap == 0
    assert_same_totals(totals, reference)
    assert session_snapshot(settings, replay) == session_snapshot(ref_settings, replay)


def test_password_protected_redis(generated_model: TinyModel, tmp_path: Path) -> None:
    password = "correct-horse-battery-staple"
    services = EmbeddedServices(tmp_path / "auth", free_port(), free_port(), password)
    services.start()
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMREC_")}
        env.update(
            STREAMREC_KAFKA_BOOTSTRAP=services.kafka_bootstrap,
            STREAMREC_REDIS_URL=services.redis_url,
            STREAMREC_CONNECT_TIMEOUT="5",
        )
        command = [sys.executable, "-m", "streamrec", "consume", "--model",
                   str(generated_model.path), "--metrics-port", "0", "--threads", "1"]  # fmt: skip
        refused = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
        assert refused.returncode == 2
        assert refused.stderr.strip().splitlines()[-1] == (
            "streamrec: error: Redis requires a password (set STREAMREC_REDIS_PASSWORD)"
        )
        env["STREAMREC_REDIS_PASSWORD"] = "wrong"
        wrong = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
        assert wrong.returncode == 2 and "refused the credentials" in wrong.stderr

        env["STREAMREC_REDIS_PASSWORD"] = password
        produce = subprocess.run(
            [sys.executable, "-m", "streamrec", "produce", "--users", "300", "--sessions", "10",
             "--no-progress"], env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert produce.returncode == 0, produce.stderr
        log_path = tmp_path / "consumer.log"
        with open(log_path, "wb") as log:
            consumer = subprocess.Popen(
                [*command, "--log-level", "DEBUG"], env=env, stdout=log, stderr=subprocess.STDOUT
            )
        try:
            report_cmd = [sys.executable, "-m", "streamrec", "report"]
            deadline = time.monotonic() + 90
            while True:
                report = subprocess.run(report_cmd, env=env, capture_output=True, text=True)
                assert report.returncode == 0, report.stderr
                if " 0 applied" not in report.stdout and "applied" in report.stdout:
                    break
                assert time.monotonic() < deadline, log_path.read_text()[-2000:]
                time.sleep(0.5)
        finally:
            consumer.send_signal(signal.SIGTERM)
            assert consumer.wait(60) == 0
        assert password not in log_path.read_text()
        assert password not in produce.stdout + produce.stderr
    finally:
        services.stop()


def test_broker_down_for_ten_seconds_is_survived(
    generated_model: TinyModel, own_servers: EmbeddedServices, tmp_path: Path
) -> None:
    mine = Endpoints(own_servers.kafka_bootstrap, own_servers.redis_url, "embedded")
    settings = isolated_settings(generated_model.settings, mine, partitions=2)
    ensure_topics(settings)
    first = replay_sessions(settings, held_out_only=True, max_sessions=60)
    second = replay_sessions(settings, held_out_only=True, max_sessions=120)
    second.indices = second.indices[60:]  # new sessions after the outage
    consumers = start_consumers(settings, generated_model.path, 1, tmp_path)
    producer = ClickProducer(settings)  # one producer lives through the outage
    try:
        wait_for_assignment(consumers, 2)
        assert producer.replay(first, concurrency=30, seed=1).failed == 0
        wait_for_totals(settings, first.n_events)

        assert own_servers.stop(names=("broker",)) == ["broker"]  # returns once it has exited
        down_since = time.monotonic()
        # keeps producing into the outage; librdkafka queues
        sender = BackgroundReplay(producer, second, concurrency=30, seed=2)
        time.sleep(max(0.0, 10.0 - (time.monotonic() - down_since)))
        assert consumers[0].proc.poll() is None, "consumer died while the broker was down"
        assert wait_for_totals(settings, 0).applied == first.n_events  # nothing got through
        own_servers.start()  # memory storage: topics are gone and must be recreated
        ensure_topics(settings)
        sender.result(timeout=180)
        totals = wait_for_totals(settings, first.n_events + second.n_events, timeout=180)
    finally:
        codes = stop_consumers(consumers)
    assert codes == [0], log_tails([consumers[0].log_path])
    log = consumers[0].log_path.read_text()
    assert "all Kafka brokers are unreachable" in log
    assert log.count("Connect to ipv4") < 20, "retry noise should be folded"
    assert totals.applied == first.n_events + second.n_events
    assert totals.duplicate == totals.gap == totals.invalid == 0
