"""``streamrec explain``: end to end on a tiny lstm-attn checkpoint, and the refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from streamrec.cli.exits import EXIT_OK, EXIT_USAGE
from streamrec.config import Settings
from streamrec.model.training.workflow import train_model
from tests.unit.cli.helpers import help_text, run_main

TINY = ("--users", "300", "--threads", "1")
SUMMARY_KEYS = {
    "n_prefixes", "n_truncated", "mean_length", "last_click", "last_3", "first_click",
    "middle_per_click", "normalised_entropy", "peak_on_last", "peak_on_first",
    "by_position_from_start", "by_position_from_end", "uniform_by_position", "n_by_position",
}  # fmt: skip


def _train(path: Path, architecture: str) -> Path:
    settings = Settings(users=300, epochs=1, threads=1, architecture=architecture)
    train_model(settings, path, show_progress=False)
    return path


def test_explain_writes_the_png_and_json_and_prints_the_table(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    model = _train(tmp_path / "lstm.pt", "lstm-attn")
    out = tmp_path / "out"
    status, stdout, err = run_main(
        capsys, "explain", "--model", str(model), *TINY, "--out-dir", str(out), "--json",
        "--no-progress",
    )  # fmt: skip
    assert status == EXIT_OK, err
    assert (out / "explain.png").read_bytes()[:4] == b"\x89PNG"
    report = json.loads(stdout.strip().splitlines()[-1])
    assert report == json.loads((out / "explain.json").read_text())
    assert report["architecture"] == "lstm-attn" and report["split"] == "session"
    assert list(report["groups"]) == ["all", "comparison", "deep_dive", "explorer"]
    for buckets in report["groups"].values():
        assert list(buckets) == ["all", "short", "medium", "long"]
        assert all(s.keys() == SUMMARY_KEYS for s in buckets.values())
    overall = report["groups"]["all"]["all"]
    assert overall["n_prefixes"] + report["n_too_short"] == report["n_prefixes"]
    assert sum(v for v in overall["by_position_from_start"] if v is not None) > 0
    assert [c["claim"].split(":")[0] for c in report["claims"]] == [
        "recency", "anchoring", "near-uniform",
    ]  # fmt: skip
    assert all(isinstance(c["holds"], bool) for c in report["claims"])
    assert "deep_dive   short" in err and "recency: short sessions" in err


def test_architecture_without_attention_exits_2_naming_the_supported_ones(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    model = _train(tmp_path / "markov.pt", "markov")
    status, _, err = run_main(capsys, "explain", "--model", str(model), *TINY)
    assert status == EXIT_USAGE
    assert err.strip().splitlines()[-1] == (
        "streamrec: error: markov models have no attention over prefix positions; explain "
        "supports lstm-attn, narm, sasrec"
    )


def test_missing_checkpoint_and_bad_values_are_one_line_errors(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    status, _, err = run_main(capsys, "explain", "--model", str(tmp_path / "none.pt"))
    assert status == EXIT_USAGE
    assert err.strip() == f"streamrec: error: no checkpoint at {tmp_path / 'none.pt'}"
    status, _, err = run_main(capsys, "explain", "--model", "m.pt", "--users", "0")
    assert status == EXIT_USAGE
    assert err.strip() == "streamrec: error: users must be >= 1, got 0"
    with pytest.raises(SystemExit) as exc:
        run_main(capsys, "explain")
    assert exc.value.code == EXIT_USAGE


def test_help_names_the_supported_architectures(capsys: pytest.CaptureFixture[str]) -> None:
    text = help_text(capsys, "explain")
    assert "Read the attention of an lstm-attn, narm or sasrec checkpoint" in text
    assert "--out-dir PATH" in text and "(default: artifacts/explain)" in text
