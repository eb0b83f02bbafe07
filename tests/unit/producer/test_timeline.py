"""The timeline: each clock's schedule joined with the sessions' ids, seqs, items and labels."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from streamrec.model.data.corpus import SessionCorpus
from streamrec.producer.sources import ReplaySessions
from streamrec.producer.timeline import check_clock, timeline
from streamrec.traffic.clock import ClockSpec
from streamrec.traffic.profiles import DiurnalProfile


def log_sessions(times: list[list[float]] | None) -> ReplaySessions:
    corpus = SessionCorpus(
        sessions=[[0, 1, 2], [3, 4], [5]],
        session_ids=["a", "b", "c"],
        behaviors=[None, "explorer", None],
        n_items=6,
        source="test",
        item_ids=np.arange(100, 106),
        click_times=times,
    )
    return ReplaySessions(corpus, [0, 1, 2])


TIMES = [[1000.0, 1030.0, 1100.0], [1010.0, 1020.0], [1050.0]]


def test_replay_clock_sends_the_logs_clicks_at_their_scaled_times() -> None:
    events = list(timeline(log_sessions(TIMES), ClockSpec("replay", speedup=10.0)))
    assert events == [
        (0.0, "a", 0, 100, None),
        (1.0, "b", 0, 103, "explorer"),
        (2.0, "b", 1, 104, "explorer"),
        (3.0, "a", 1, 101, None),
        (5.0, "c", 0, 105, None),
        (10.0, "a", 2, 102, None),
    ]


def test_later_rounds_are_new_sessions() -> None:
    events = list(timeline(log_sessions(TIMES), ClockSpec("replay"), rounds=2, first_round=3))
    one_round = ["a", "b", "b", "a", "c", "a"]
    expected = [f"{s}~r3" for s in one_round] + [f"{s}~r4" for s in one_round]
    assert [sid for _, sid, *_ in events] == expected


def test_poisson_clock_keeps_each_session_in_order_and_depends_on_the_seed() -> None:
    clock = ClockSpec("poisson", sessions_per_s=5.0, speedup=100.0)
    events = list(timeline(log_sessions(None), clock, seed=4))
    dues = [e[0] or 0.0 for e in events]
    assert dues == sorted(dues) and dues[-1] > 0
    for sid, items in (("a", [100, 101, 102]), ("b", [103, 104]), ("c", [105])):
        assert [(seq, item) for _, s, seq, item, _ in events if s == sid] == list(enumerate(items))
    assert events == list(timeline(log_sessions(None), clock, seed=4))
    assert events != list(timeline(log_sessions(None), clock, seed=5))


def test_flat_clock_is_unpaced_or_paced_by_rate_and_profile() -> None:
    sessions = log_sessions(None)
    unpaced = list(timeline(sessions, ClockSpec(), concurrency=2, seed=1))
    assert {e[0] for e in unpaced} == {None} and len(unpaced) == 6
    paced = list(timeline(sessions, ClockSpec(), rate=4.0, concurrency=2, seed=1))
    assert [e[1:] for e in paced] == [e[1:] for e in unpaced]  # the same order, now timed
    assert [e[0] for e in paced] == [0.0, 0.25, 0.5, 0.75, 1.0, 1.25]
    day = ClockSpec(profile=DiurnalProfile(day_seconds=10.0))
    events = itertools.islice(timeline(sessions, day, rate=4.0, rounds=0), 80)
    dues = [e[0] or 0.0 for e in events]
    first_gap, noon_gap = dues[1] - dues[0], dues[21] - dues[20]  # night vs ~noon (t ~ 5 s)
    assert first_gap > 3 * noon_gap


def test_replay_clock_needs_times_on_every_click() -> None:
    with pytest.raises(ValueError, match="needs a click log with times"):
        check_clock(log_sessions(None), ClockSpec("replay"))
    with pytest.raises(ValueError, match="usable time on every click"):
        check_clock(
            log_sessions([[1.0, 2.0, float("nan")], [1.0, 2.0], [3.0]]), ClockSpec("replay")
        )
    check_clock(log_sessions(None), ClockSpec("poisson"))  # other clocks need no times
