"""The CLI: help reads, bad input gets one line and a non-zero exit, generate writes JSONL."""

import json
import subprocess
import sys

import pytest

from streamrec.cli import main

SUBCOMMANDS = ["generate", "train", "evaluate"]


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
        (["train", "--epochs", "0"], "must be >= 1"),
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
    assert result.stderr.strip() == "streamrec: error: epochs must be >= 1, got -3"


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
