"""`streamrec evaluate` on real logs: the checkpoint's catalog, the session-rec protocol."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from streamrec.config import Settings
from streamrec.model.evaluation.workflow import evaluate_named
from streamrec.model.training.workflow import train_model

YOOCHOOSE = Path(__file__).resolve().parents[4] / "data" / "yoochoose-100k"
LOG = Settings(log_format="session-rec", split="none", threads=1)


def _log(path: Path, **extra: str) -> Settings:
    return LOG.with_overrides({"csv_path": str(path), **extra})


@pytest.fixture(scope="module")
def log_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("model") / "yoochoose.pt"
    settings = _log(YOOCHOOSE / "train_tr.txt").with_overrides({"epochs": 1})
    train_model(settings, out, show_progress=False)
    return out


def _shuffled(path: Path, out: Path) -> Path:
    header, *rows = path.read_text().splitlines()
    random.Random(0).shuffle(rows)
    out.write_text("\n".join([header, *rows]) + "\n")
    return out


def test_a_later_log_is_scored_through_the_checkpoint_catalog(
    log_model: Path, tmp_path: Path
) -> None:
    test = _log(YOOCHOOSE / "train_valid.txt")
    report = evaluate_named(test, model_path=log_model)
    assert report["n_examples"] == 12_455 and report["n_sessions"] > 3_000
    assert report["dropped_unknown_clicks"] == 0
    assert 0.05 < report["hit_at_20"] <= 1 and report["mrr_at_20"] <= report["hit_at_20"]
    shuffled_log = _shuffled(YOOCHOOSE / "train_valid.txt", tmp_path / "shuffled.txt")
    again = evaluate_named(_log(shuffled_log), model_path=log_model)
    for key in ("hit_at_10", "hit_at_20", "n_examples", "n_sessions"):
        assert again[key] == report[key], key
    assert again["mrr_at_20"] == pytest.approx(report["mrr_at_20"], rel=1e-12)  # sum order


def test_unknown_items_are_removed_before_scoring(log_model: Path, tmp_path: Path) -> None:
    log = tmp_path / "new-items.txt"
    log.write_text(
        "SessionId\tItemId\tTime\n"
        "1\t1\t1.0\n1\t214716935\t2.0\n1\t2\t3.0\n1\t214832672\t4.0\n"  # two new items
        "2\t3\t5.0\n2\t214716935\t6.0\n"  # one known click left: no prediction
    )
    report = evaluate_named(_log(log), model_path=log_model)
    assert report["dropped_unknown_clicks"] == 3
    assert report["n_examples"] == 1 and report["n_sessions"] == 1


def test_baselines_fit_on_one_log_and_score_another() -> None:
    settings = _log(YOOCHOOSE / "train_valid.txt", train_csv=str(YOOCHOOSE / "train_tr.txt"))
    markov = evaluate_named(settings, baseline="markov")
    popularity = evaluate_named(settings, baseline="popularity")
    assert markov["n_examples"] == popularity["n_examples"] == 12_455
    # the published level on this split: Markov Hit@20 0.525, popularity 0.099
    assert markov["hit_at_20"] == pytest.approx(0.525, abs=0.01)
    assert popularity["hit_at_20"] == pytest.approx(0.099, abs=0.01)
