"""What the consumer process sets up before it consumes."""

from __future__ import annotations

import gc

from streamrec.consumer.main import GC_YOUNG_THRESHOLD, settle_garbage_collector


def test_start_up_objects_are_frozen_and_young_collections_are_rarer() -> None:
    before = gc.get_threshold()
    kept = [[i] for i in range(1000)]  # start-up state that lives on
    try:
        settle_garbage_collector()
        assert gc.get_freeze_count() >= len(kept)
        assert gc.get_threshold() == (GC_YOUNG_THRESHOLD, before[1], before[2])
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
