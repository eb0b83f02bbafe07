"""The oracle's line on the over-time plots: a level on generated data, none for a log."""

from __future__ import annotations

from pathlib import Path

from streamrec.config import Settings
from streamrec.model.data.loading import prepare_data
from streamrec.model.evaluation.baselines import make_baseline
from streamrec.model.evaluation.evaluate import evaluate
from streamrec.pipeline.oracle_line import flat_line, oracle_hit_at_10
from streamrec.producer.sources import replay_sessions

LOG = Path(__file__).parents[3] / "data" / "yoochoose-100k" / "train_valid.txt"


def test_the_oracle_level_bounds_a_fitted_baseline_on_the_replayed_sessions() -> None:
    settings = Settings(users=400)
    sessions = replay_sessions(settings, held_out_only=True)
    level = oracle_hit_at_10(sessions)
    assert level is not None and 0 < level < 1
    data = prepare_data(settings)
    markov = make_baseline("markov", data.corpus, data.train)
    fitted = evaluate(markov, sessions.examples(), data.corpus.behaviors).total.metrics()
    assert level > fitted["hit_at_10"]


def test_a_click_log_has_no_oracle_line() -> None:
    sessions = replay_sessions(
        Settings(csv_path=str(LOG), log_format="session-rec", split="none"), held_out_only=False
    )
    assert len(sessions) > 0
    assert oracle_hit_at_10(sessions) is None
    assert flat_line(None, 10.0) is None


def test_the_flat_line_spans_the_run() -> None:
    assert flat_line(0.3, 12.5) == [(0.0, 0.3), (12.5, 0.3)]
    assert flat_line(0.3, -1.0) == [(0.0, 0.3), (0.0, 0.3)]
