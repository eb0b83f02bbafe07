"""``compare --refresh`` and ``evaluate --refresh`` on the command line: rows per (model,
refresh), the files they write, and one-line errors for what cannot run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from streamrec.cli import main
from tests.unit.model.data.test_globo import write_slice

FIELDS = {
    "refresh", "versions", "update_seconds_mean", "update_seconds_max", "unknown_targets",
    "new_item_clicks", "hit_at_10", "hit_at_20", "mrr_at_20", "predictions",
}  # fmt: skip


def _log_args(tmp_path: Path) -> list[str]:
    log = write_slice(tmp_path / "slice.csv.gz")
    return ["--from-csv", str(log), "--format", "globo", "--split", "day"]


def test_compare_gives_a_row_per_model_and_refresh(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    args = [
        "compare", "--models", "markov,recent-popularity", *_log_args(tmp_path),
        "--refresh", "never,1h,10m", "--out-dir", str(out), "--json", "--no-progress",
    ]  # fmt: skip
    assert main(args) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    pairs = [(r["model"], r["refresh"]) for r in report["rows"]]
    models, refreshes = ("markov", "recent-popularity"), ("never", "1h", "10m")
    assert pairs == [(m, r) for m in models for r in refreshes]
    for row in report["rows"]:
        assert row.keys() >= FIELDS and row["predictions"] == 7
        assert (row["update_seconds_mean"] is None) == (row["refresh"] == "never")
    assert report["parts"]["test"]["predictions"] == 7 and report["history"] == "strict"
    assert {p.name for p in out.iterdir()} >= {
        "prequential.json", "prequential.md", "prequential.png",
    }  # fmt: skip
    assert "| markov | 10m |" in (out / "prequential.md").read_text()


def test_evaluate_scores_one_refresh(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = [
        "evaluate", "--baseline", "markov", *_log_args(tmp_path), "--refresh", "1h",
        "--new-items", "drop", "--history", "whole", "--version-time", "served", "--json",
    ]  # fmt: skip
    assert main(args) == 0
    row = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (row["model"], row["refresh"], row["version_time"]) == ("markov", "1h", "served")
    assert row["predictions"] == 3 and row["unknown_targets"] == 0


def test_a_neural_model_learns_on_the_stream_end_to_end(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [
        "compare", "--models", "sasrec", *_log_args(tmp_path), "--refresh", "never,1h",
        "--epochs", "1", "--update-steps", "5", "--replay-sessions", "2",
        "--out-dir", str(tmp_path / "out"), "--json", "--no-progress",
    ]  # fmt: skip
    assert main(args) == 0
    never, hourly = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["rows"]
    assert (never["refresh"], never["versions"], never["update_seconds_mean"]) == ("never", 1, None)
    assert hourly["versions"] > 1 and hourly["update_seconds_max"] >= hourly["update_seconds_mean"]
    assert never["unknown_targets"] > hourly["unknown_targets"]  # new items were learned
    assert hourly["catalog_size"] > never["catalog_size"]
    assert hourly["updates_cut_short"] in range(hourly["versions"])  # reported, per version


def test_a_bad_update_setting_is_a_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", "--models", "sasrec", "--refresh", "1h", "--update-steps", "-1"]) != 0
    error = capsys.readouterr().err.strip()
    assert error == "streamrec: error: update_steps must be >= 0, got -1"


@pytest.mark.parametrize(
    "refresh,message",
    [("5x", "not 'never' or a number with a unit"), ("1h,60m", "given twice"),
     ("0m", "positive period")],
)  # fmt: skip
def test_bad_refresh_lists_are_one_line_errors(
    refresh: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["compare", "--models", "markov", "--refresh", refresh])
    assert exit_info.value.code != 0
    assert message in capsys.readouterr().err


def test_the_stream_needs_a_test_part(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = write_slice(tmp_path / "slice.csv.gz")
    args = ["compare", "--models", "markov", "--from-csv", str(log), "--format", "globo",
            "--split", "none", "--refresh", "never"]  # fmt: skip
    assert main(args) != 0
    assert "needs a test part" in capsys.readouterr().err
