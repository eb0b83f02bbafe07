"""The CLI as a user drives it: services up, produce, consume, report, services down."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from streamrec.pipeline.promql import PromClient, final_reading
from streamrec.pipeline.servers import free_port
from tests.backends import Endpoints
from tests.models import TinyModel

pytestmark = pytest.mark.integration


def cli(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "streamrec", *args],
        capture_output=True, text=True, env=env, timeout=timeout,
    )  # fmt: skip


def test_services_produce_consume_report(generated_model: TinyModel, tmp_path: Path) -> None:
    if shutil.which("prometheus") is None:
        pytest.fail(
            "prometheus is not installed: `services up` runs it when it is; install Debian's "
            "prometheus package (./dev test does)"
        )
    kafka_port, redis_port, prometheus_port = free_port(), free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMREC_")}
    env.update(
        STREAMREC_KAFKA_BOOTSTRAP=f"127.0.0.1:{kafka_port}",
        STREAMREC_REDIS_URL=f"redis://127.0.0.1:{redis_port}/0",
        STREAMREC_RUN_DIR=str(tmp_path / "run"),
        STREAMREC_USERS="300",
        STREAMREC_PARTITIONS="2",
        STREAMREC_PROMETHEUS_PORT=str(prometheus_port),
        STREAMREC_METRICS_PORT=str(free_port()),  # the consumer Prometheus scrapes
    )
    up = cli("services", "up", env=env)
    assert up.returncode == 0, up.stderr
    try:
        status = cli("services", "status", "--json", env=env)
        assert status.returncode == 0
        servers = json.loads(status.stdout)
        assert set(servers) == {"broker", "valkey", "prometheus"}
        assert all(s["running"] for s in servers.values())
        assert listening_addresses(prometheus_port) == {"0100007F"}  # 127.0.0.1 only
        prometheus = PromClient(f"http://127.0.0.1:{prometheus_port}")

        produced = cli("produce", "--sessions", "20", "--no-progress", env=env)
        assert produced.returncode == 0, produced.stderr
        sent = int(produced.stdout.split()[1].replace(",", ""))
        assert sent > 20 * 4

        log = open(tmp_path / "consumer.log", "wb")  # noqa: SIM115
        consumer = subprocess.Popen(
            [sys.executable, "-m", "streamrec", "consume", "--model", str(generated_model.path),
             "--threads", "1"],
            env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 120
            while True:
                report = cli("report", "--json", env=env)
                assert report.returncode == 0, report.stderr
                events = json.loads(report.stdout)["events"]
                if events["applied"] >= sent or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            assert events == {
                "applied": sent, "unknown_item": 0, "duplicate": 0, "gap": 0, "invalid": 0,
                "stale": 0,
            }  # fmt: skip
            # Prometheus, started by `services up`, scraped the consumer's final counters;
            # its recording rule equals the exact Redis figure
            exact = json.loads(cli("report", "--json", env=env).stdout)
            reading = final_reading(prometheus, exact["n_examples"], timeout=60)
            assert reading.metrics["hit_at_10"] == pytest.approx(exact["hit_at_10"], abs=0.002)
        finally:
            consumer.send_signal(signal.SIGTERM)
            assert consumer.wait(60) == 0, (tmp_path / "consumer.log").read_text()[-2000:]
            log.close()
        human = cli("report", env=env)
        assert "Hit@10" in human.stdout and f"{sent:,} applied" in human.stdout
    finally:
        down = cli("services", "down", env=env)
    assert down.returncode == 0
    assert down.stdout.strip() == "stopped broker, valkey, prometheus"
    assert cli("services", "status", env=env).returncode == 3


def test_unreachable_servers_fail_with_one_line() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMREC_")}
    port = free_port()
    result = cli(
        "produce", "--users", "50", "--kafka-bootstrap", f"127.0.0.1:{port}",
        "--connect-timeout", "2", "--no-progress", env=env,
    )  # fmt: skip
    assert result.returncode == 4  # a server could not be reached
    assert result.stderr.strip().splitlines() == [
        f"streamrec: waiting up to 2s for Kafka at 127.0.0.1:{port}",
        f"streamrec: error: Kafka at 127.0.0.1:{port} not reachable after 2s",
    ]
    result = cli("report", "--redis-url", f"redis://127.0.0.1:{port}/0", "--connect-timeout", "1",
                 env=env)  # fmt: skip
    assert result.returncode == 4
    assert result.stderr.strip().splitlines()[-1] == (
        f"streamrec: error: Redis at redis://127.0.0.1:{port}/0 not reachable after 1s"
    )


def listening_addresses(port: int) -> set[str]:
    """Local addresses with a socket listening on ``port`` (from /proc/net/tcp{,6})."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.rsplit(":", 1)
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                found.add(address)
    return found


def test_embedded_servers_listen_on_loopback_only(servers_for_bind_check: Path) -> None:
    ports = json.loads((servers_for_bind_check / "services.json").read_text())
    for service in ports["services"]:
        assert listening_addresses(service["port"]) == {"0100007F"}, service  # 127.0.0.1


@pytest.fixture
def servers_for_bind_check(tmp_path: Path):
    from streamrec.pipeline.servers import EmbeddedServices

    services = EmbeddedServices(tmp_path, free_port(), free_port())
    services.start()
    yield tmp_path
    services.stop()


def test_bad_configuration_fails_fast_with_one_line(
    generated_model: TinyModel, servers_for_bind_check: Path, tmp_path: Path
) -> None:
    state = json.loads((servers_for_bind_check / "services.json").read_text())
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMREC_")}
    env.update(
        STREAMREC_KAFKA_BOOTSTRAP=state["kafka_bootstrap"], STREAMREC_REDIS_URL=state["redis_url"]
    )

    missing = cli("consume", "--model", str(tmp_path / "nope.pt"), "--metrics-port", "0", env=env)
    assert missing.returncode == 2
    assert (
        missing.stderr.strip()
        .splitlines()[-1]
        .startswith(
            f"streamrec: error: no checkpoint at {tmp_path / 'nope.pt'}; train one with "
            f"`streamrec train --out {tmp_path / 'nope.pt'}`"
        )
    )

    assert cli("produce", "--users", "100", "--sessions", "1", "--partitions", "4",
               "--no-progress", env=env).returncode == 0  # fmt: skip
    wrong = cli("produce", "--users", "100", "--sessions", "1", "--partitions", "3",
                "--no-progress", env=env)  # fmt: skip
    assert wrong.returncode == 2
    assert wrong.stderr.strip().splitlines()[-1] == (
        "streamrec: error: topic clicks has 4 partitions, settings ask for 3"
    )
    for args, message in (
        (["produce", "--rate", "-5"], "must be a finite number >= 0"),
        (["consume", "--session-ttl", "0"], "session_ttl must be > 0"),
        (["consume", "--metrics-port", "70000"], "metrics_port must be in 0..65535"),
    ):
        result = cli(*args, env=env)
        assert result.returncode == 2 and message in result.stderr.strip().splitlines()[-1]
    bad_env = dict(env, STREAMREC_POLL_BATCH="0")
    result = cli("consume", "--help", env=bad_env)
    assert result.returncode == 2
    assert result.stderr.strip() == "streamrec: error: poll_batch must be >= 1, got 0"


def test_a_consumer_stopped_during_start_up_exits_cleanly(
    generated_model: TinyModel, servers: Endpoints
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMREC_")}
    consumer = subprocess.Popen(
        [sys.executable, "-m", "streamrec", "consume", "--model", str(generated_model.path),
         "--kafka-bootstrap", servers.kafka_bootstrap, "--redis-url", servers.redis_url,
         "--namespace", f"early-stop-{os.getpid()}", "--metrics-port", "0", "--threads", "1"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        # stop it as soon as it handles SIGTERM: while torch imports or the model loads (the
        # chaos test's case); before that, the interpreter's default would end it with -15
        deadline = time.monotonic() + 60
        while not _catches_sigterm(consumer.pid) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert consumer.stdout is not None and _catches_sigterm(consumer.pid)
        consumer.send_signal(signal.SIGTERM)
        assert consumer.wait(120) == 0, consumer.stdout.read()[-2000:]
    finally:
        if consumer.poll() is None:
            consumer.kill()


def _catches_sigterm(pid: int) -> bool:
    """Whether process ``pid`` has a SIGTERM handler installed (``SigCgt`` in /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigCgt:"):
            return bool(int(line.split()[1], 16) & (1 << (signal.SIGTERM - 1)))
    return False
