"""``main``: help reads, bad input gets one line, every exit status, generate writes JSONL."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from streamrec.cli import main
from streamrec.cli.commands import HANDLERS
from streamrec.cli.exits import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_NOT_RUNNING,
    EXIT_OK,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
)
from streamrec.cli.parser import COMMANDS
from tests.unit.cli.helpers import help_text, run_main

SUBCOMMANDS = list(COMMANDS)


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "streamrec", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


@pytest.mark.parametrize("sub", SUBCOMMANDS)
def test_help(sub: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main([sub, "--help"])
    assert exc.value.code == 0
    assert "usage: streamrec " + sub in capsys.readouterr().out


@pytest.mark.parametrize(
    "args, message",
    [
        (["train", "--epochs", "-1"], "must be >= 0"),
        (["train", "--users", "many"], "expected a whole number"),
        (["train", "--split", "random"], "invalid choice"),
        (["evaluate"], "one of the arguments --model --baseline is required"),
        (["evaluate", "--model", "/nonexistent.pt"], "no checkpoint at /nonexistent.pt"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_arguments_fail_with_one_line(args: list[str], message: str) -> None:
    result = run_cli(*args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert message in lines[-1]
    assert "Traceback" not in result.stderr


def test_bad_environment_variable_fails_with_one_line() -> None:
    import os

    env = dict(os.environ, STREAMREC_EPOCHS="-3")
    result = run_cli("train", "--help", env=env)
    assert result.returncode == 2
    assert result.stderr.strip() == "streamrec: error: epochs must be >= 0, got -3"


def test_generate_writes_jsonl(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["generate", "--users", "40", "--seed", "7", "--out", "-"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    rows = [json.loads(line) for line in lines]
    assert len(rows) == 40
    assert set(rows[0]) == {"session_id", "items", "behavior"}
    assert all(
        len(r["items"]) >= 3 and r["behavior"] in {"explorer", "deep_dive", "comparison"}
        for r in rows
    )
    assert len({r["session_id"] for r in rows}) == 40


def test_top_level_help_documents_exit_statuses(capsys: pytest.CaptureFixture[str]) -> None:
    text = help_text(capsys)
    for line in (
        "0 ok",
        "1 the work failed",
        "2 usage or configuration error",
        "3 `services status`: not every server runs",
        "4 a server could not be reached",
        "130 interrupted",
    ):
        assert line in text
    for name in COMMANDS:
        assert name in text


def test_exit_0_ok(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run_main(capsys, "generate", "--users", "30")
    assert status == EXIT_OK and len(out.splitlines()) == 30


def test_exit_1_when_the_work_fails(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(*_: object) -> int:
        raise RuntimeError("consumer exit codes [0, 1]")

    monkeypatch.setitem(HANDLERS, "generate", crash)
    status, _, err = run_main(capsys, "generate")
    assert status == EXIT_FAILED
    assert err == "streamrec: error: consumer exit codes [0, 1]\n"


def test_exit_2_for_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["train", "--epochs", "many"])
    assert exc.value.code == EXIT_USAGE
    assert "expected a whole number, got 'many'" in capsys.readouterr().err


def test_exit_2_for_bad_settings(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run_main(capsys, "train", "--epochs", "-1")
    assert status == EXIT_USAGE
    assert err == "streamrec: error: epochs must be >= 0, got -1\n"


def test_exit_2_for_a_missing_checkpoint(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    missing = tmp_path / "none.pt"
    status, _, err = run_main(capsys, "evaluate", "--model", str(missing), "--users", "300")
    assert status == EXIT_USAGE
    assert err.startswith(f"streamrec: error: no checkpoint at {missing}")


def test_exit_3_when_services_are_not_running(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from streamrec.pipeline.servers import free_port

    # free ports: the default ones may serve another checkout's servers on a shared machine
    ports = ["--kafka-port", str(free_port()), "--redis-port", str(free_port())]
    status, out, _ = run_main(capsys, "services", "status", "--run-dir", str(tmp_path), *ports)
    assert status == EXIT_NOT_RUNNING
    states = {line.split()[0]: line.split()[1] for line in out.splitlines()}
    assert states == {"broker": "stopped", "valkey": "stopped", "prometheus": "stopped"}
    assert "None" not in out


def test_services_status_without_prometheus_installed_says_it_is_absent(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no prometheus binary here
    status, out, _ = run_main(capsys, "services", "status", "--run-dir", str(tmp_path), "--json")
    assert status == EXIT_NOT_RUNNING  # broker and Valkey are not running
    prometheus = json.loads(out)["prometheus"]
    assert prometheus["installed"] is False and prometheus["running"] is False
    assert prometheus["reason"].startswith("no prometheus binary on PATH")


@pytest.mark.parametrize(
    "args, what",
    [
        (["report", "--redis-url", "redis://127.0.0.1:1/0"], "Redis at redis://127.0.0.1:1/0"),
        (["produce", "--users", "40", "--kafka-bootstrap", "127.0.0.1:1"], "Kafka at 127.0.0.1:1"),
    ],
)
def test_exit_4_when_a_server_cannot_be_reached(
    capsys: pytest.CaptureFixture[str], args: list[str], what: str
) -> None:
    status, _, err = run_main(capsys, *args, "--connect-timeout", "0.2")
    assert status == EXIT_UNREACHABLE
    lines = err.strip().splitlines()
    assert lines[0] == f"streamrec: waiting up to 0.2s for {what}"
    assert lines[-1] == f"streamrec: error: {what} not reachable after 0.2s"


def test_exit_130_when_interrupted(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(*_: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setitem(HANDLERS, "generate", interrupted)
    status, _, err = run_main(capsys, "generate")
    assert status == EXIT_INTERRUPTED
    assert err == "streamrec: interrupted\n"


def test_an_unexpected_error_is_not_hidden(monkeypatch: pytest.MonkeyPatch) -> None:
    def bug(*_: object) -> int:
        raise TypeError("a bug")

    monkeypatch.setitem(HANDLERS, "generate", bug)
    with pytest.raises(TypeError, match="a bug"):
        main(["generate"])


def test_demo_refuses_a_missing_explicit_model_before_starting_anything(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    missing = tmp_path / "nonexistent.pt"
    status, _, err = run_main(capsys, "demo", "--model", str(missing))
    assert status == EXIT_USAGE
    assert err.startswith(f"streamrec: error: no checkpoint at {missing}")
    assert "starting embedded" not in err


def test_a_file_that_is_not_a_checkpoint_is_named_as_such(
    capsys: pytest.CaptureFixture[str],
) -> None:
    readme = Path(__file__).resolve().parents[3] / "README.md"
    status, _, err = run_main(capsys, "consume", "--model", str(readme), "--metrics-port", "0")
    assert status == EXIT_USAGE
    assert "is not a StreamRec checkpoint" in err and "weights_only" not in err
    assert err.count("\n") == 1
