"""Following a version directory: versions by event time, the bounded wait counted, stale
serves, refused versions (no servers: the models are stand-ins read from the files)."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest

from streamrec.consumer.follow import FollowError, VersionFollower
from streamrec.consumer.serving import Catalog
from streamrec.consumer.telemetry import ConsumerMetrics
from streamrec.model.versions import (
    MODEL_FILE,
    Manifest,
    Schedule,
    boundary,
    publish,
    version_name,
    write_schedule,
)

T0, R = 1000.0, 10.0


class FakeModel:
    """What the follower needs of a ``ServedModel``, read from a JSON 'checkpoint'."""

    def __init__(self, path: Path, label: str) -> None:
        spec = json.loads(path.read_text())
        self.catalog = Catalog(len(spec["ids"]), spec["ids"])
        self.max_len = spec.get("max_len", 25)
        self.model_version = label


def put(directory: Path, version: int, ids: list[int], max_len: int = 25) -> None:
    manifest = Manifest(
        version=version, valid_from=None if version == 0 else boundary(T0, R, version),
        refresh_s=R, catalog_size=len(ids), clicks_learned=0, clicks_total=0,
        update_seconds=0.0, kind="exact", new_items=0, base_model="m", architecture="markov",
        max_len=max_len, t0=None if version == 0 else T0,
    )  # fmt: skip
    body = json.dumps({"ids": ids, "max_len": max_len}).encode()
    publish(directory, manifest, {MODEL_FILE: lambda p: p.write_bytes(body)})


def follower(directory: Path, wait_s: float = 0.3) -> tuple[VersionFollower, ConsumerMetrics]:
    metrics = ConsumerMetrics()
    f = VersionFollower(directory, FakeModel, metrics, wait_s, scan_interval_s=0.0)  # type: ignore[arg-type]
    return f, metrics


def value(metrics: ConsumerMetrics, name: str, labels: dict[str, str] | None = None) -> float:
    return metrics.registry.get_sample_value(name, labels) or 0.0


def started(tmp_path: Path, wait_s: float = 0.3) -> tuple[VersionFollower, ConsumerMetrics]:
    put(tmp_path, 0, [1, 2, 3])
    write_schedule(tmp_path, Schedule(T0, R))
    f, metrics = follower(tmp_path, wait_s)
    f.start(5.0, lambda: False)
    return f, metrics


def test_start_needs_version_0(tmp_path: Path) -> None:
    f, _ = follower(tmp_path)
    with pytest.raises(FollowError, match="no version 0"):
        f.start(0.2, lambda: False)


def test_each_event_is_served_by_the_version_of_its_time(tmp_path: Path) -> None:
    f, metrics = started(tmp_path)
    put(tmp_path, 1, [1, 2, 3, 4])
    put(tmp_path, 2, [1, 2, 3, 4, 5])
    times = [T0 + 1, boundary(T0, R, 1), T0 + 25.0, T0 + 9.99]
    chosen = f.choose(times)
    assert chosen.versions == [0, 1, 2]
    assert chosen.per_event == [0, 1, 2, 0] and chosen.stale == [False] * 4
    assert chosen.staleness == pytest.approx([1.0, 0.0, 5.0, 9.99])
    assert [m.model_version for m in chosen.models] == ["m+v0", "m+v1", "m+v2"]
    assert value(metrics, "streamrec_model_version") == 2


def test_a_missing_version_is_waited_for_once_then_served_stale(tmp_path: Path) -> None:
    f, metrics = started(tmp_path, wait_s=0.3)
    chosen = f.choose([T0 + 15.0])  # version 1 is not there
    assert chosen.versions == [0] and chosen.stale == [True]
    assert value(metrics, "streamrec_version_waits_total", {"result": "timeout"}) == 1
    waited = value(metrics, "streamrec_version_wait_seconds_sum")
    assert waited >= 0.3
    again = f.choose([T0 + 16.0])  # no second wait for the same version
    assert again.stale == [True]
    assert value(metrics, "streamrec_version_waits_total", {"result": "timeout"}) == 1
    put(tmp_path, 1, [1, 2, 3, 4])
    f.poll()
    late = f.choose([T0 + 17.0])
    assert late.versions == [1] and late.stale == [False]


def test_a_version_that_arrives_during_the_wait_is_served(tmp_path: Path) -> None:
    f, metrics = started(tmp_path, wait_s=5.0)
    timer = threading.Timer(0.2, lambda: put(tmp_path, 1, [1, 2, 3, 4]))
    timer.start()
    chosen = f.choose([T0 + 12.0])
    timer.join()
    assert chosen.versions == [1] and chosen.stale == [False]
    assert value(metrics, "streamrec_version_waits_total", {"result": "ready"}) == 1


def test_invalid_versions_are_skipped_counted_and_validated_again_when_replaced(
    tmp_path: Path,
) -> None:
    f, metrics = started(tmp_path, wait_s=0.2)
    put(tmp_path, 1, [1, 2, 3, 4])
    (tmp_path / version_name(1) / MODEL_FILE).write_text('{"ids": [9, 9, 9, 9]}')  # corrupt
    put(tmp_path, 2, [9, 2, 3, 4, 5])  # does not extend version 0's catalog
    put(tmp_path, 3, [1, 2, 3, 4, 5, 6], max_len=5)  # another window length
    for t in (T0 + 11.0, T0 + 21.0, T0 + 31.0):  # each waited for once, then refused
        chosen = f.choose([t])
        assert chosen.versions == [0] and chosen.stale == [True]
    assert value(metrics, "streamrec_versions_invalid_total") == 3
    assert value(metrics, "streamrec_version_waits_total", {"result": "timeout"}) == 3
    put(tmp_path, 1, [1, 2, 3, 4])  # the learner publishes version 1 again
    f.poll()
    assert f.choose([T0 + 11.0]).versions == [1]


def test_old_versions_are_evicted_and_loaded_again_when_needed(tmp_path: Path) -> None:
    f, _ = started(tmp_path)
    for v in range(1, 8):
        put(tmp_path, v, list(range(1, 4 + v)))
    for v in range(1, 8):
        f.choose([boundary(T0, R, v) + 0.5])
    assert len(f.loaded) <= 4 and 0 in f.loaded
    assert f.choose([boundary(T0, R, 1) + 0.5]).versions == [1]


def _unused(_: Any) -> None:  # keeps FakeModel's signature honest for mypy
    pass
