"""The learner's stream cutter: watermark, idle partitions, t0, late clicks, the cut."""

from __future__ import annotations

import pytest

from streamrec.learner.cutter import StreamCutter


def cutter(*partitions: int, idle: float = 2.0) -> StreamCutter:
    c = StreamCutter(idle)
    for p in partitions:
        c.assign(p, 0, None)
    return c


def test_the_watermark_waits_for_every_partition_then_is_their_least_time() -> None:
    c = cutter(0, 1)
    c.add(0, 0, 10.0, 1, 100)
    assert c.watermark(0.0) is None and c.first_time(0.0) is None
    c.add(1, 0, 12.0, 2, 200)
    assert c.watermark(0.0) == 10.0 and c.first_time(0.0) == 10.0
    c.add(0, 1, 15.0, 1, 101)
    assert c.watermark(0.0) == 12.0


def test_an_idle_partition_stops_holding_the_watermark_back() -> None:
    c = cutter(0, 1, idle=2.0)
    c.add(0, 0, 10.0, 1, 100, now=5.0)
    c.note_position(1, at_end=True, now=5.0)  # partition 1 has nothing
    assert c.watermark(6.0) is None and c.first_time(6.0) is None
    assert c.watermark(7.0) == 10.0 and c.first_time(7.0) == 10.0
    c.add(1, 0, 11.0, 2, 200)  # a click: active again
    c.add(0, 1, 20.0, 1, 101)
    assert c.watermark(8.0) == 11.0
    c.note_position(0, at_end=True, now=8.0)
    c.note_position(1, at_end=True, now=8.0)
    assert c.watermark(10.0) == 20.0  # every partition idle: the latest time seen


def test_the_cut_takes_each_partitions_leading_clicks_in_time_order() -> None:
    c = cutter(0, 1)
    for offset, t in enumerate([1.0, 3.0, 5.0]):
        c.add(0, offset, t, 1, 10 + offset)
    for offset, t in enumerate([2.0, 3.0, 6.0]):
        c.add(1, offset, t, 2, 20 + offset)
    cut = c.take_before(5.0)
    assert cut.times.tolist() == [1.0, 2.0, 3.0, 3.0]  # ties: partition, then offset
    assert cut.items.tolist() == [10, 20, 11, 21]
    assert cut.offsets == {0: 2, 1: 2} and cut.marks == {0: 3.0, 1: 3.0}
    assert c.pending() == 2
    later = c.take_before(10.0)
    assert later.items.tolist() == [12, 22] and later.offsets == {0: 3, 1: 3}


def test_a_late_click_is_learned_at_its_partitions_latest_time() -> None:
    c = cutter(0)
    c.add(0, 0, 10.0, 1, 100)
    c.add(0, 1, 4.0, 1, 101)  # its time goes back
    cut = c.take_before(10.0)
    assert len(cut) == 0 and cut.offsets == {0: 0}
    cut = c.take_before(11.0)
    assert cut.times.tolist() == [10.0, 10.0] and cut.items.tolist() == [100, 101]


def test_resuming_from_a_cut_reads_the_same_clicks_again() -> None:
    c = cutter(0)
    for offset, t in enumerate([1.0, 2.0, 8.0, 3.0]):
        c.add(0, offset, t, 1, offset)
    first = c.take_before(5.0)
    rest = c.take_before(100.0)
    resumed = StreamCutter(2.0)
    resumed.assign(0, first.offsets[0], first.marks[0])
    for offset, t in enumerate([1.0, 2.0, 8.0, 3.0]):
        resumed.add(0, offset, t, 1, offset)  # a seek may deliver earlier offsets: ignored
    again = resumed.take_before(100.0)
    assert again.items.tolist() == rest.items.tolist() == [2, 3]
    assert again.times.tolist() == rest.times.tolist() == [8.0, 8.0]


def test_bad_idle_timeouts_are_refused() -> None:
    with pytest.raises(ValueError, match="idle_timeout_s"):
        StreamCutter(0.0)


def test_t0_waits_the_idle_timeout_after_the_first_click_for_silent_partitions() -> None:
    c = cutter(0, 1, idle=2.0)
    c.note_position(1, at_end=True, now=0.0)  # partition 1 empty for long
    c.add(0, 0, 10.0, 1, 100, now=50.0)
    assert c.first_time(50.5) is None  # an earlier click may still be on its way
    c.add(1, 0, 9.5, 2, 200, now=50.8)  # it was
    assert c.first_time(50.8) == 9.5
    late = cutter(0, 1, idle=2.0)
    late.note_position(1, at_end=True, now=0.0)
    late.add(0, 0, 10.0, 1, 100, now=50.0)
    assert late.first_time(52.0) == 10.0  # the idle timeout passed: fixed without it
