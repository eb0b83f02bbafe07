"""The version directory: atomic publishing, validation, the schedule's boundaries."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from streamrec.model.versions import (
    MANIFEST_FILE,
    MODEL_FILE,
    FileWriter,
    Manifest,
    Schedule,
    VersionError,
    boundary,
    latest_valid,
    listed,
    publish,
    read_schedule,
    remove_leftovers,
    validate,
    version_at,
    version_name,
    versions_at,
    write_schedule,
)


def manifest(version: int, t0: float | None = 100.0, refresh: float = 10.0) -> Manifest:
    return Manifest(
        version=version,
        valid_from=None if version == 0 else boundary(t0 or 0.0, refresh, version),
        refresh_s=refresh,
        catalog_size=5,
        clicks_learned=3,
        clicks_total=3 * version,
        update_seconds=0.01,
        kind="exact",
        new_items=0,
        base_model="markov-x",
        architecture="markov",
        max_len=25,
        t0=None if version == 0 else t0,
        offsets={"0": 7},
    )


def write_model(data: bytes = b"model bytes") -> FileWriter:
    return lambda path: path.write_bytes(data)


def test_a_published_version_validates_and_carries_checksums(tmp_path: Path) -> None:
    path = publish(tmp_path, manifest(1), {MODEL_FILE: write_model()})
    assert path == tmp_path / "v000001"
    got = validate(path)
    assert got.version == 1 and got.offsets == {"0": 7} and got.label == "markov-x+v1"
    assert got.files[MODEL_FILE]["bytes"] == len(b"model bytes")
    assert listed(tmp_path) == {1: path}
    assert [p.name for p in tmp_path.iterdir()] == ["v000001"]  # no temporary left


def test_a_corrupt_or_truncated_file_fails_validation(tmp_path: Path) -> None:
    path = publish(tmp_path, manifest(2), {MODEL_FILE: write_model()})
    (path / MODEL_FILE).write_bytes(b"model bytez")  # same size, other bytes
    with pytest.raises(VersionError, match="checksum"):
        validate(path)
    (path / MODEL_FILE).write_bytes(b"model")
    with pytest.raises(VersionError, match="checksum"):
        validate(path)
    (path / MODEL_FILE).unlink()
    with pytest.raises(VersionError, match="missing"):
        validate(path)


def test_bad_manifests_fail_validation(tmp_path: Path) -> None:
    path = publish(tmp_path, manifest(3), {MODEL_FILE: write_model()})
    payload = json.loads((path / MANIFEST_FILE).read_text())
    for change, reason in (
        ({"version": 4}, "boundary 4"),
        ({"valid_from": 1.0}, "boundary"),
        ({"catalog_size": "5"}, "catalog_size"),
        ({"format": "other"}, "not a StreamRec"),
        ({"valid_from": None}, "only version 0"),
    ):
        (path / MANIFEST_FILE).write_text(json.dumps({**payload, **change}))
        with pytest.raises(VersionError, match=reason):
            validate(path)
    (path / MANIFEST_FILE).write_text("{")
    with pytest.raises(VersionError, match="not JSON"):
        validate(path)


def test_a_publisher_killed_before_the_rename_leaves_nothing_a_reader_sees(
    tmp_path: Path,
) -> None:
    publish(tmp_path, manifest(0), {MODEL_FILE: write_model()})

    def killed() -> None:
        raise KeyboardInterrupt  # the process dies here: files written, not renamed

    with pytest.raises(KeyboardInterrupt):
        publish(tmp_path, manifest(1), {MODEL_FILE: write_model()}, before_rename=killed)
    assert set(listed(tmp_path)) == {0}
    found = latest_valid(tmp_path)
    assert found is not None and found[0].version == 0
    assert remove_leftovers(tmp_path) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["v000000"]


def test_latest_valid_skips_refused_versions_and_a_republished_one_replaces_them(
    tmp_path: Path,
) -> None:
    for v in (0, 1, 2):
        publish(tmp_path, manifest(v), {MODEL_FILE: write_model()})
    (tmp_path / version_name(2) / MODEL_FILE).write_bytes(b"garbage!!!!")
    refused: list[str] = []
    found = latest_valid(tmp_path, lambda path, exc: refused.append(path.name))
    assert found is not None and found[0].version == 1 and refused == ["v000002"]
    publish(tmp_path, manifest(2), {MODEL_FILE: write_model()})  # moves the bad one aside
    assert validate(tmp_path / version_name(2)).version == 2
    assert any(p.name.startswith(".invalid-v000002") for p in tmp_path.iterdir())


def test_the_schedule_round_trips_and_bad_ones_are_refused(tmp_path: Path) -> None:
    assert read_schedule(tmp_path) is None
    write_schedule(tmp_path, Schedule(1_700_000_000.25, 600.0))
    assert read_schedule(tmp_path) == Schedule(1_700_000_000.25, 600.0)
    (tmp_path / "schedule.json").write_text('{"format": "streamrec-version-schedule", "t0": 1}')
    with pytest.raises(VersionError, match="numbers"):
        read_schedule(tmp_path)


def test_version_at_is_the_last_boundary_at_or_before_a_time() -> None:
    t0, r = 1_500_000_000.1, 0.3
    assert version_at(t0 - 5, t0, r) == 0 and version_at(t0, t0, r) == 0
    for k in range(1, 400):
        b = boundary(t0, r, k)
        assert version_at(b, t0, r) == k
        assert version_at(math.nextafter(b, -math.inf), t0, r) == k - 1
    times = np.array([t0 - 1, t0, *(boundary(t0, r, k) for k in range(1, 50))])
    expected = [version_at(float(t), t0, r) for t in times]
    assert versions_at(times, t0, r).tolist() == expected
