"""recent-popularity and recent-markov: what they score, their checkpoints, and that they train
on generated data (no click times: every click weighs the same)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from streamrec.config import Settings
from streamrec.model.scoring import WindowBatch
from streamrec.model.zoo import learner_for
from streamrec.model.zoo.recency import RecencyConfig, RecencyModel
from streamrec.model.zoo.updates import Catalog, ClickBatch, LearnerStart
from tests.unit.model.zoo.helpers import trained_and_reloaded

HOUR = 3600.0


def _model(clicks: list[tuple[float, int, int]], name: str = "recent-markov") -> RecencyModel:
    times, sessions, items = (np.array(c) for c in zip(*clicks, strict=True))
    batch = ClickBatch(sessions, items, times)
    start = LearnerStart(None, Catalog.of(range(6)), batch, Settings(recency_half_life_h=1.0))
    model, _ = learner_for(name, start).publish()
    assert isinstance(model, RecencyModel)
    return model


def _scores(model: RecencyModel, window: list[int]) -> np.ndarray:
    return model.scorer().score(WindowBatch.from_windows([window], 25)).numpy()[0]


def test_a_recent_transition_beats_an_old_one_clicked_more() -> None:
    """0 -> 1 twice three hours ago (weight 2/8), 0 -> 2 once now (weight 1)."""
    model = _model([(0.0, 1, 0), (1.0, 1, 1), (2.0, 2, 0), (3.0, 2, 1),
                    (3 * HOUR, 3, 0), (3 * HOUR + 1, 3, 2)])  # fmt: skip
    scores = _scores(model, [0])
    assert scores[2] > scores[1] > scores[3] == 0.0


def test_the_last_known_click_speaks_and_clicked_items_are_not_offered_again() -> None:
    model = _model([(0.0, 1, 0), (1.0, 1, 1), (2.0, 2, 1), (3.0, 2, 0)])
    unknown_last = _scores(model, [0, -1])  # -1: a click the model does not know
    assert unknown_last[1] == max(unknown_last)  # transitions from 0 still count
    assert unknown_last[0] == 0.0  # 0 was clicked in this session: not offered again
    offered = _scores(model, [1])
    assert offered[0] > 0 and offered[1] == 0.0


def test_recent_popularity_is_clicks_weighed_by_age() -> None:
    model = _model([(0.0, 1, 4), (0.0, 2, 4), (HOUR, 3, 5)], "recent-popularity")
    scores = _scores(model, [0])
    assert scores[4] == pytest.approx(scores[5])  # two clicks an hour older = one click now


def test_config_is_checked() -> None:
    with pytest.raises(ValueError, match="half_life_h"):
        RecencyConfig(half_life_h=0).validate()
    with pytest.raises(ValueError, match="seen_weight"):
        RecencyConfig(seen_weight=2).validate()


@pytest.mark.parametrize("name", ["recent-popularity", "recent-markov"])
def test_trains_and_reloads_on_generated_data(name: str, tmp_path: Path) -> None:
    settings = Settings(architecture=name, users=400, threads=1)
    result = trained_and_reloaded(settings, tmp_path / "model.pt")
    assert result.n_parameters > 0
