"""Common mistakes end in one line: a port already taken, a closed pipe; honest status lines
and help defaults. Real sockets and pipes, no servers."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from streamrec.cli.exits import EXIT_BROKEN_PIPE, EXIT_NOT_RUNNING, EXIT_USAGE
from streamrec.cli.parser import COMMANDS
from streamrec.pipeline.servers import free_port
from tests.unit.cli.helpers import help_text, run_main


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A loopback port another process listens on (as a second consumer would)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


def test_a_metrics_port_in_use_is_one_line_naming_the_flag(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, taken_port: int
) -> None:
    model = tmp_path / "model.pt"
    model.write_bytes(b"not read: the port is taken first")
    status, _, err = run_main(
        capsys, "consume", "--model", str(model), "--metrics-port", str(taken_port)
    )
    assert status == EXIT_USAGE
    assert err.strip().splitlines() == [
        f"streamrec: error: metrics port {taken_port} on 127.0.0.1 is already in use (another "
        "consumer?); give this one another with --metrics-port PORT, or --metrics-port 0 for "
        "any free port"
    ]


def test_metrics_port_0_serves_on_a_free_port_and_logs_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from urllib.request import urlopen

    from streamrec.consumer.main import serve_metrics
    from streamrec.consumer.telemetry import ConsumerMetrics

    metrics = ConsumerMetrics()
    metrics.events.labels("scored").inc(3)
    with caplog.at_level("INFO", logger="streamrec.consumer"):
        server = serve_metrics(metrics, "127.0.0.1", 0)
    try:
        port = server.server_port
        assert port > 0
        assert f"metrics on http://127.0.0.1:{port}/metrics" in caplog.messages
        with urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
            body = response.read().decode()
        assert 'streamrec_events_total{outcome="scored"} 3.0' in body
    finally:
        server.shutdown()
        server.server_close()


def test_services_up_on_a_taken_port_names_the_flag(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, taken_port: int
) -> None:
    status, _, err = run_main(
        capsys, "services", "up", "--run-dir", str(tmp_path), "--kafka-port", str(taken_port),
        "--redis-port", str(free_port()),
    )  # fmt: skip
    assert status == EXIT_USAGE
    assert err.strip().splitlines() == [
        f"streamrec: error: port {taken_port} for the embedded broker is already in use (by a "
        "process not started here); choose another with --kafka-port PORT"
    ]


def test_services_status_says_who_holds_a_port(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, taken_port: int
) -> None:
    redis_port = free_port()
    status, out, _ = run_main(
        capsys, "services", "status", "--run-dir", str(tmp_path),
        "--kafka-port", str(taken_port), "--redis-port", str(redis_port),
    )  # fmt: skip
    assert status == EXIT_NOT_RUNNING
    lines = {line.split()[0]: line for line in out.splitlines()}
    assert lines["broker"] == (
        f"broker     other    port {taken_port} answers, but not a server that `services up` "
        f"started from {tmp_path} (no running pid there)"
    )
    assert lines["valkey"] == f"valkey     stopped  port {redis_port}  not running"
    assert "None" not in out


def test_no_help_says_a_default_twice(capsys: pytest.CaptureFixture[str]) -> None:
    assert "--shadow-model" in help_text(capsys, "consume")
    for name in COMMANDS:
        text = help_text(capsys, name)
        assert "none, none" not in text, name
    consume = help_text(capsys, "consume")
    assert "written (default: none; env STREAMREC_SHADOW_MODEL)" in consume
    assert "0 = any free port (the consumer logs the one it got)" in consume


def write_into_closed_pipe(*args: str, unbuffered: bool) -> subprocess.CompletedProcess[bytes]:
    """Run ``streamrec ARGS`` with stdout a pipe whose reader is already gone."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("STREAMREC_") and k != "PYTHONUNBUFFERED"
    }
    if unbuffered:  # every print reaches the pipe at once, inside the handler
        env["PYTHONUNBUFFERED"] = "1"
    try:
        return subprocess.run(
            [sys.executable, "-m", "streamrec", *args],
            stdout=write_end, stderr=subprocess.PIPE, env=env, timeout=120, check=False,
        )  # fmt: skip
    finally:
        os.close(write_end)


@pytest.mark.parametrize("unbuffered", [False, True], ids=["buffered", "unbuffered"])
def test_a_closed_stdout_ends_quietly(unbuffered: bool) -> None:
    result = write_into_closed_pipe("generate", "--users", "300", unbuffered=unbuffered)
    assert result.stderr.decode() == ""  # no traceback, no error line, no "Exception ignored"
    assert result.returncode == EXIT_BROKEN_PIPE == 141


def test_help_into_a_closed_pipe_ends_quietly() -> None:
    # buffered: the help is lost at the last flush, which main() catches; unbuffered,
    # argparse itself ignores the failed write and exits 0
    result = write_into_closed_pipe("--help", unbuffered=False)
    assert (result.returncode, result.stderr) == (EXIT_BROKEN_PIPE, b"")
    result = write_into_closed_pipe("--help", unbuffered=True)
    assert (result.returncode, result.stderr) == (0, b"")


@pytest.mark.parametrize(
    "command, flag",
    [
        (["generate", "--users", "300", "--out"], "--out"),
        (["train", "--users", "300", "--out"], "--out"),  # refused before training
        (["services", "up", "--run-dir"], "--run-dir"),
        (["loadtest", "--out-dir"], "--out-dir"),
    ],
    ids=["generate", "train", "services", "loadtest"],
)
def test_an_output_path_that_cannot_be_made_is_one_line_before_the_work(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, command: list[str], flag: str
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    target = blocker / "x.out"  # its folder would have to be made inside a file
    folder = target if flag in ("--run-dir", "--out-dir") else blocker
    status, out, err = run_main(capsys, *command, str(target))
    assert status == EXIT_USAGE
    assert err.strip().splitlines()[-1].startswith(f"streamrec: error: {flag}: cannot ")
    assert str(folder) in err and "Traceback" not in err and out == ""


def test_a_file_error_anywhere_is_one_line_naming_the_file() -> None:
    from streamrec.cli.exits import error_message, exit_status

    exc = FileNotFoundError(2, "No such file or directory", "/data/log.csv")
    assert exit_status(exc) == EXIT_USAGE
    assert error_message(exc) == "/data/log.csv: No such file or directory"
    assert exit_status(BrokenPipeError(32, "Broken pipe")) == 4  # a server's socket, not a file
