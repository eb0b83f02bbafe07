"""``--generator`` / ``STREAMREC_GENERATOR``: on every command that generates data, validated
in one line, and recorded with what a checkpoint was trained on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from streamrec.cli import main
from streamrec.cli.parser import COMMANDS
from streamrec.config import Settings
from streamrec.model.data.corpus import generator_of
from streamrec.model.zoo import load_model
from streamrec.pipeline.models import quick_model_path
from tests.unit.cli.helpers import run_main


@pytest.mark.parametrize("command", ["generate", "train", "evaluate", "compare", "produce", "demo"])
def test_commands_with_generated_data_take_the_option(command: str) -> None:
    assert "generator" in COMMANDS[command].settings


def test_a_bad_mode_fails_with_one_line_from_flag_or_environment() -> None:
    def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "streamrec", *args],
            capture_output=True, text=True, env=dict(os.environ, **env), timeout=120,
        )  # fmt: skip

    by_flag = run("train", "--generator", "drift")
    assert by_flag.returncode == 2
    assert "--generator: invalid choice: 'drift'" in by_flag.stderr.strip().splitlines()[-1]
    by_env = run("train", "--help", STREAMREC_GENERATOR="drift")
    assert by_env.returncode == 2
    assert by_env.stderr.strip() == (
        "streamrec: error: generator must be one of seed, series, anchor, got 'drift'"
    )


def test_generate_writes_the_modes_sessions(capsys: pytest.CaptureFixture[str]) -> None:
    def sessions(*extra: str) -> list[dict[str, object]]:
        assert main(["generate", "--users", "30", "--seed", "7", "--out", "-", *extra]) == 0
        return [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]

    seed, series = sessions(), sessions("--generator", "series")
    assert len(series) == 30 and series[0]["session_id"] == "g7s-0"
    assert [r["items"] for r in seed] != [r["items"] for r in series]
    assert seed == sessions("--generator", "seed")


def test_a_checkpoint_records_its_mode_and_evaluate_notes_a_mismatch(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "m.pt"
    common = ("--users", "200", "--threads", "1")
    status, _, err = run_main(
        capsys, "train", "--architecture", "markov", "--generator", "anchor", "--out", str(out),
        *common,
    )  # fmt: skip
    assert status == 0, err
    _, meta = load_model(out)
    assert generator_of(meta.source) == "anchor"
    status, out_text, err = run_main(
        capsys, "evaluate", "--model", str(out), "--generator", "series", "--json", *common
    )
    assert status == 0, err
    report = json.loads(out_text.strip().splitlines()[-1])
    assert "trained on generator=anchor" in report["scorer"]
    assert "generator=series" in report["source"]


def test_sources_name_their_mode_and_old_ones_read_as_seed() -> None:
    assert generator_of("generated(users=5, seed=1, generator=series)") == "series"
    assert generator_of("generated(users=20000, seed=42)") == "seed"
    assert generator_of("data/yoochoose-100k/train_tr.txt") is None


def test_the_demo_keeps_one_quick_model_per_generated_data_set() -> None:
    seed_path = quick_model_path(Settings())
    assert seed_path.name == "quick-model.pt"
    assert quick_model_path(Settings(generator="anchor")).name == "quick-model-anchor.pt"
    drifting = Settings(generator="anchor", scenario="new-items", drift_at=0.3)
    assert quick_model_path(drifting).name == "quick-model-anchor-new-items-0.3.pt"
    # other generated data: other sessions behind the same ids, another split
    assert quick_model_path(Settings(users=4000)).name == "quick-model-users4000-seed42.pt"
    assert quick_model_path(Settings(seed=7)).name == "quick-model-users20000-seed7.pt"
