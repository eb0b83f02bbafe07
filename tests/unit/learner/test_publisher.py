"""The learner's versions on disk: version 0 at the first start, version k with the state to
resume from, and a restart that restores the learner exactly (no servers: a markov learner)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from streamrec.config import Settings
from streamrec.learner.publisher import LearnerError, VersionPublisher
from streamrec.model.checkpoint import CheckpointMeta
from streamrec.model.versions import (
    MODEL_FILE,
    Schedule,
    latest_valid,
    listed,
    validate,
    write_schedule,
)
from streamrec.model.zoo import learner_for, load_model
from streamrec.model.zoo.counts import CountModel
from streamrec.model.zoo.updates import Catalog, ClickBatch, LearnerStart, StreamLearner

META = CheckpointMeta(
    architecture="markov", config={}, n_items=3, split="none", seed=1, source="test",
    max_len=25, digest="0123abcd",
)  # fmt: skip
SCHEDULE = Schedule(1000.0, 10.0)


def markov_learner() -> StreamLearner:
    model = CountModel("markov", np.zeros(3, np.int64))
    history = ClickBatch(np.array([0, 0, 1]), np.array([10, 11, 12]), np.array([1.0, 2.0, 3.0]))
    start = LearnerStart(model, Catalog.of([10, 11, 12]), history, Settings())
    return learner_for("markov", start)


def stream_batch() -> ClickBatch:
    return ClickBatch(
        np.array([7, 7, 8]), np.array([11, 99, 12]), np.array([1001.0, 1002.0, 1005.0])
    )


def test_a_first_start_publishes_version_0_and_a_restart_restores_the_learner(
    tmp_path: Path,
) -> None:
    learner = markov_learner()
    publisher = VersionPublisher(tmp_path, META, 10.0)
    resume = publisher.start(learner)
    assert resume.version == 0 and resume.offsets == {} and set(listed(tmp_path)) == {0}
    assert validate(tmp_path / "v000000").valid_from is None

    write_schedule(tmp_path, SCHEDULE)  # the loop fixes t0 before version 1
    learner.learn(stream_batch())
    model, report = learner.publish()
    manifest = publisher.publish(
        1, model, learner.catalog, report, learner.state(), SCHEDULE, {0: 3, 1: 0}, {0: 1005.0},
        3,
    )  # fmt: skip
    assert (manifest.valid_from, manifest.t0) == (1010.0, 1000.0)
    assert (manifest.catalog_size, manifest.new_items, manifest.clicks_learned) == (4, 1, 3)
    served, meta = load_model(tmp_path / "v000001" / MODEL_FILE)
    assert meta.item_ids == [10, 11, 12, 99] and served.n_items == 4

    again = markov_learner()
    resume = VersionPublisher(tmp_path, META, 10.0).start(again)
    assert (resume.version, resume.offsets, resume.marks) == (1, {0: 3, 1: 0}, {0: 1005.0})
    assert resume.clicks_total == 3
    # the restored learner publishes what the original would next
    more = ClickBatch(np.array([8]), np.array([99]), np.array([1011.0]))
    for one in (learner, again):
        one.learn(more)
    first, second = learner.publish()[0], again.publish()[0]
    assert np.array_equal(first.counts, second.counts)
    assert all(np.array_equal(a, b) for a, b in zip(first.transitions, second.transitions))


def test_a_directory_of_another_model_or_refresh_is_refused(tmp_path: Path) -> None:
    VersionPublisher(tmp_path, META, 10.0).start(markov_learner())
    other = CheckpointMeta(**{**META.__dict__, "digest": "ffffffff"})
    with pytest.raises(LearnerError, match="holds versions of"):
        VersionPublisher(tmp_path, other, 10.0).start(markov_learner())
    with pytest.raises(LearnerError, match="refreshed every 10s"):
        VersionPublisher(tmp_path, META, 60.0).start(markov_learner())


def test_a_corrupt_newest_version_is_skipped_and_half_written_ones_removed(
    tmp_path: Path,
) -> None:
    learner = markov_learner()
    publisher = VersionPublisher(tmp_path, META, 10.0)
    publisher.start(learner)
    write_schedule(tmp_path, SCHEDULE)
    learner.learn(stream_batch())
    model, report = learner.publish()
    publisher.publish(1, model, learner.catalog, report, learner.state(), SCHEDULE, {}, {}, 3)
    (tmp_path / "v000001" / MODEL_FILE).write_bytes(b"truncated")
    (tmp_path / ".tmp-v000002-1-x").mkdir()
    resume = VersionPublisher(tmp_path, META, 10.0).start(markov_learner())
    assert resume.version == 0
    assert not (tmp_path / ".tmp-v000002-1-x").exists()
    found = latest_valid(tmp_path)
    assert found is not None and found[0].version == 0
