"""How a load test sizes its own topics."""

from __future__ import annotations

from streamrec.config import Settings
from streamrec.pipeline.load_pipeline import load_partitions


def test_one_partition_per_consumer_by_default() -> None:
    settings = Settings()
    assert "partitions" not in settings.explicit
    assert load_partitions(settings, 1) == 1
    assert load_partitions(settings, 3) == 3


def test_explicit_partitions_are_kept() -> None:
    settings = Settings().with_overrides({"partitions": 8})
    assert load_partitions(settings, 1) == 8
    assert load_partitions(settings, 4) == 8
