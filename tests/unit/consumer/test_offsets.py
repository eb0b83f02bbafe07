"""The commit policy, with a recording commit function and a hand-moved clock."""

from __future__ import annotations

import logging

import pytest
from confluent_kafka import KafkaError, KafkaException, TopicPartition

from streamrec.consumer.offsets import OffsetTracker, report_commit


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Commits:
    """Records each call; raises while ``failing``."""

    def __init__(self) -> None:
        self.calls: list[tuple[dict[tuple[str, int], int], bool]] = []
        self.failing = False

    def __call__(self, *, offsets: list[TopicPartition], asynchronous: bool) -> None:
        self.calls.append(({(tp.topic, tp.partition): tp.offset for tp in offsets}, asynchronous))
        if self.failing:
            raise KafkaException(KafkaError(KafkaError._TRANSPORT))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def commits() -> Commits:
    return Commits()


@pytest.fixture
def tracker(commits: Commits, clock: Clock) -> OffsetTracker:
    return OffsetTracker(commits, clock, every_s=0.25)


def test_nothing_pending_commits_nothing(tracker: OffsetTracker, commits: Commits) -> None:
    assert tracker.commit_if_due() is False
    assert tracker.commit_now() is True
    tracker.revoke([("t", 0)])
    assert commits.calls == []


def test_commits_the_next_offset_asynchronously(tracker: OffsetTracker, commits: Commits) -> None:
    tracker.processed("t", 0, 4)
    tracker.processed("t", 0, 9)  # a later message of the same partition replaces it
    tracker.processed("t", 1, 0)
    assert tracker.commit_if_due() is True
    assert commits.calls == [({("t", 0): 10, ("t", 1): 1}, True)]
    assert tracker.pending == {}


def test_loop_commits_are_spaced_out(
    tracker: OffsetTracker, commits: Commits, clock: Clock
) -> None:
    tracker.processed("t", 0, 1)
    assert tracker.commit_if_due()
    tracker.processed("t", 0, 2)
    clock.now += 0.2
    assert not tracker.commit_if_due()  # too soon: stays pending
    assert tracker.pending == {("t", 0): 3}
    clock.now += 0.05
    assert tracker.commit_if_due()
    assert [offsets for offsets, _ in commits.calls] == [{("t", 0): 2}, {("t", 0): 3}]


def test_a_failed_commit_keeps_the_offsets_for_the_next_try(
    tracker: OffsetTracker, commits: Commits, clock: Clock
) -> None:
    tracker.processed("t", 0, 5)
    commits.failing = True
    assert tracker.commit_if_due()  # tried, and failed
    assert tracker.pending == {("t", 0): 6}
    tracker.processed("t", 1, 7)
    commits.failing = False
    clock.now += 0.25
    assert tracker.commit_if_due()
    assert commits.calls[-1] == ({("t", 0): 6, ("t", 1): 8}, True)
    assert tracker.pending == {}


def test_commit_now_is_synchronous_and_reports_failure(
    tracker: OffsetTracker, commits: Commits
) -> None:
    tracker.processed("t", 2, 0)
    commits.failing = True
    assert tracker.commit_now() is False
    commits.failing = False
    assert tracker.commit_now() is True
    assert commits.calls == [({("t", 2): 1}, False), ({("t", 2): 1}, False)]


def test_revoke_commits_synchronously_then_drops_revoked_partitions(
    tracker: OffsetTracker, commits: Commits
) -> None:
    tracker.processed("t", 0, 3)
    tracker.processed("t", 1, 4)
    commits.failing = True  # even when that commit fails, revoked offsets are not ours
    tracker.revoke([("t", 0)])
    assert commits.calls == [({("t", 0): 4, ("t", 1): 5}, False)]
    assert tracker.pending == {("t", 1): 5}


def test_failed_asynchronous_commits_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="streamrec.consumer"):
        report_commit(None, [TopicPartition("t", 0, 3)])
        assert caplog.records == []
        report_commit(KafkaError(KafkaError._TRANSPORT), [TopicPartition("t", 0, 3)])
    assert len(caplog.records) == 1 and "offset commit failed" in caplog.records[0].message
