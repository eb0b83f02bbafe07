"""Bring your own click log: train on one file, evaluate a later one, as a user types it."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from tests.unit.cli.helpers import run_main

YOOCHOOSE = Path(__file__).resolve().parents[3] / "data" / "yoochoose-100k"
LOG = ("--format", "session-rec", "--split", "none", "--threads", "1")
KEYS = ("hit_at_10", "hit_at_20", "mrr_at_20", "n_examples", "n_sessions", "dropped_unknown_clicks")


def test_train_on_one_log_and_evaluate_a_shuffled_later_one(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    model = tmp_path / "m.pt"
    status, out, _ = run_main(
        capsys, "train", "--from-csv", str(YOOCHOOSE / "train_tr.txt"), *LOG,
        "--epochs", "1", "--out", str(model), "--no-progress",
    )  # fmt: skip
    assert status == 0 and "no validation figures" in out
    test = YOOCHOOSE / "train_valid.txt"
    header, *rows = test.read_text().splitlines()
    random.Random(1).shuffle(rows)
    shuffled = tmp_path / "shuffled.txt"
    shuffled.write_text("\n".join([header, *rows]) + "\n")
    reports = []
    for path in (test, shuffled):
        status, out, _ = run_main(
            capsys, "evaluate", "--model", str(model), "--from-csv", str(path), *LOG, "--json"
        )
        assert status == 0
        reports.append(json.loads(out.strip().splitlines()[-1]))
    assert set(KEYS) <= reports[0].keys()
    assert reports[0]["n_examples"] == 12_455 and reports[0]["n_sessions"] == 4_084
    for key in KEYS:
        assert reports[1][key] == pytest.approx(reports[0][key], rel=1e-12), key


def test_a_model_of_a_log_needs_a_log_to_be_evaluated_on(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    model = tmp_path / "m.pt"
    train = ("train", "--from-csv", str(YOOCHOOSE / "train_tr.txt"), *LOG, "--epochs", "1")
    assert run_main(capsys, *train, "--out", str(model), "--no-progress")[0] == 0
    status, _, err = run_main(capsys, "evaluate", "--model", str(model))
    assert status == 2 and "evaluate it on a log with --from-csv" in err


def test_a_malformed_log_is_one_line_naming_file_and_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    log = tmp_path / "bad.txt"
    log.write_text("SessionId\tItemId\tTime\n1\t2\t3\n1\tseven\t4\n")
    status, _, err = run_main(
        capsys, "evaluate", "--baseline", "popularity", "--from-csv", str(log), *LOG
    )
    assert status == 2
    assert err.strip() == f"streamrec: error: {log}:3: item id 'seven' is not an integer"
