"""Online metrics over time: counter samples cut into windows that add up to the totals."""

from __future__ import annotations

import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streamrec.contract.names import SECONDARY, SHADOW
from streamrec.pipeline.overtime import (
    CounterSample,
    ModelCounts,
    ScrapeSampler,
    Window,
    auto_window,
    models_in,
    sample_texts,
    samples_from_prometheus,
    windows,
    windows_by_model,
)

EXPOSITION = """\
# HELP streamrec_online_evaluations_total Events scored against the previous top-K
# TYPE streamrec_online_evaluations_total counter
streamrec_online_evaluations_total{{behavior="explorer",model="primary"}} {n1}
streamrec_online_evaluations_total{{behavior="deep_dive",model="primary"}} {n2}
streamrec_online_evaluations_total{{behavior="explorer",model="shadow"}} 777
# HELP streamrec_online_hits_total Online hits at K
# TYPE streamrec_online_hits_total counter
streamrec_online_hits_total{{behavior="explorer",k="10",model="primary"}} {h1}
streamrec_online_hits_total{{behavior="explorer",k="20",model="primary"}} 999
streamrec_online_hits_total{{behavior="deep_dive",k="10",model="primary"}} {h2}
streamrec_online_hits_total{{behavior="explorer",k="10",model="shadow"}} 555
# HELP streamrec_online_reciprocal_rank_sum Sum of reciprocal ranks at K (monotonic)
# TYPE streamrec_online_reciprocal_rank_sum gauge
streamrec_online_reciprocal_rank_sum{{behavior="explorer",k="20",model="primary"}} {rr}
streamrec_online_reciprocal_rank_sum{{behavior="explorer",k="20",model="shadow"}} 333
"""


def cumulative(steps: list[tuple[float, int, int, float]]) -> list[CounterSample]:
    """Samples from (time gap, evaluations, hits, rr) increments, starting at zero at t=100."""
    t, n, h, rr = 100.0, 0, 0, 0.0
    out = [CounterSample(t, 0, 0, 0.0)]
    for gap, dn, dh, drr in steps:
        t, n, h, rr = t + gap, n + dn, h + dh, rr + drr
        out.append(CounterSample(t, n, h, rr))
    return out


def test_windows_are_counter_differences_between_their_ends() -> None:
    samples = cumulative([(0.5, 100, 10, 4.0), (0.5, 200, 30, 9.0), (0.5, 100, 5, 1.0)])
    cut = windows(samples, 1.0)
    assert [(w.start_s, w.end_s) for w in cut] == [(0.0, 1.0), (1.0, 1.5)]
    assert [(w.evaluations, w.hits_10) for w in cut] == [(300, 40), (100, 5)]
    assert cut[0].hit_at_10 == pytest.approx(40 / 300)
    assert cut[0].mrr_at_20 == pytest.approx(13.0 / 300)
    assert cut[1].to_json()["hit_at_10"] == 0.05


def test_an_empty_window_has_no_rate() -> None:
    cut = windows(cumulative([(2.0, 0, 0, 0.0), (1.0, 10, 1, 0.5)]), 1.0)
    assert [w.evaluations for w in cut] == [0, 0, 10]
    assert cut[0].hit_at_10 is None and cut[0].to_json()["mrr_at_20"] is None


def test_too_few_samples_make_no_windows_and_a_bad_width_is_refused() -> None:
    assert windows([CounterSample(1.0, 5, 1, 0.2)], 1.0) == []
    with pytest.raises(ValueError, match="window_s must be > 0"):
        windows(cumulative([(1.0, 1, 1, 1.0)]), 0)


@given(
    st.lists(
        st.tuples(
            st.floats(0.01, 3.0),
            st.integers(0, 500),
            st.integers(0, 50),
            st.floats(0.0, 40.0),
        ),
        min_size=1,
        max_size=60,
    ),
    st.floats(0.1, 10.0),
)
def test_windows_add_up_to_the_totals(
    steps: list[tuple[float, int, int, float]], window_s: float
) -> None:
    samples = cumulative(steps)
    cut = windows(samples, window_s)
    last = samples[-1]
    assert sum(w.evaluations for w in cut) == last.evaluations
    assert sum(w.hits_10 for w in cut) == last.hits_10
    assert sum(w.rr_20 for w in cut) == pytest.approx(last.rr_20, abs=1e-6)
    assert cut[-1].end_s == pytest.approx(last.t - samples[0].t)
    assert all(w.end_s - w.start_s <= window_s + 1e-9 for w in cut)


def test_auto_window_is_whole_steps_giving_about_the_target_count() -> None:
    assert auto_window(3.0, 0.5) == 1.0  # a short run: two steps per window, no fewer
    assert auto_window(150.0, 0.5, target=30) == 5.0
    assert auto_window(0.0, 0.5) == 1.0
    assert auto_window(3.0, 0.5, floor_steps=1) == 0.5


def test_a_sample_sums_every_consumer_and_picks_k() -> None:
    texts = [
        EXPOSITION.format(n1=10, n2=5, h1=3, h2=1, rr=1.5),
        EXPOSITION.format(n1=1, n2=0, h1=1, h2=0, rr=0.25),
    ]
    shadow = ModelCounts(2 * 777, 2 * 555, 2 * 333)  # k="10" hits and k="20" ranks only
    assert sample_texts(7.0, texts) == CounterSample(7.0, 16, 5, 1.75, {SHADOW: shadow})


def test_a_second_model_counts_from_its_first_evaluation_on() -> None:
    texts = [EXPOSITION.format(n1=3, n2=0, h1=1, h2=0, rr=0.5).replace(" 777", " 0")]
    assert sample_texts(1.0, texts).others == {}
    assert sample_texts(1.0, texts).counts(SHADOW) == ModelCounts()


def test_scrape_sampler_samples_until_stopped_then_once_more() -> None:
    calls = {"n": 0}
    enough = threading.Event()

    def fetch() -> list[str] | None:
        calls["n"] += 1
        if calls["n"] == 2:
            return None  # a consumer not answering: that moment is skipped
        if calls["n"] >= 4:
            enough.set()
        n = calls["n"]
        return [EXPOSITION.format(n1=n, n2=0, h1=0, h2=0, rr=0)]

    sampler = ScrapeSampler(fetch, 0.01, sample_texts)
    sampler.start()
    assert enough.wait(10)
    samples = sampler.stop()
    assert len(samples) == calls["n"] - 1
    assert samples[-1].evaluations == calls["n"]
    assert [s.evaluations for s in samples] == sorted(s.evaluations for s in samples)


def test_rates_are_over_the_seconds_the_counts_cover_and_the_last_window_is_partial() -> None:
    # samples at 0, 0.5, 1.0, 1.6, 2.3: the last window is 2.0-2.3 but counts from 1.6
    samples = cumulative([(0.5, 50, 5, 1.0), (0.5, 50, 5, 1.0), (0.6, 60, 6, 1.2),
                          (0.7, 70, 7, 1.4)])  # fmt: skip
    cut = windows(samples, 1.0)
    assert [w.partial for w in cut] == [False, False, True]
    assert [round(w.seconds, 6) for w in cut] == [1.0, 0.6, 0.7]
    assert cut[-1].evaluations_per_s == pytest.approx(100.0)  # 70 / 0.7 s, not 70 / 0.3 s
    assert cut[-1].to_json()["partial"] is True and cut[-1].to_json()["seconds"] == 0.7


def test_a_window_without_a_sample_covers_no_seconds_and_has_no_rate() -> None:
    cut = windows(cumulative([(2.5, 10, 1, 0.5)]), 1.0)
    assert [w.seconds for w in cut] == [0.0, 0.0, 2.5]
    assert cut[0].evaluations_per_s is None and cut[-1].evaluations_per_s == 4.0


def test_windows_json_round_trip_and_old_reports_infer_the_partial_window() -> None:
    cut = windows(cumulative([(1.0, 10, 1, 0.5), (0.4, 4, 1, 0.25)]), 1.0)
    rows = [w.to_json() for w in cut]
    assert [Window.from_json(row).to_json() for row in rows] == rows
    old = {"start_s": 1.0, "end_s": 1.4, "evaluations": 4, "hits_at_10": 1, "rr_sum_at_20": 0.25}
    assert Window.from_json(old, window_s=1.0).partial
    assert Window.from_json(old, window_s=1.0).seconds == pytest.approx(0.4)
    assert not Window.from_json({**old, "end_s": 2.0}, window_s=1.0).partial


def test_every_model_gets_its_own_windows() -> None:
    def at(t: float, n: int, shadow: int | None) -> CounterSample:
        others = {} if shadow is None else {SHADOW: ModelCounts(shadow, shadow // 2, 1.0)}
        return CounterSample(t, n, n // 4, 0.5, others)

    samples = [at(0.0, 0, None), at(1.0, 40, None), at(2.0, 80, 30)]
    assert models_in(samples) == ["primary", SHADOW]
    by_model = windows_by_model(samples, 1.0)
    assert [w.evaluations for w in by_model["primary"]] == [40, 40]
    assert [w.evaluations for w in by_model[SHADOW]] == [0, 30]  # zero before its first
    assert models_in([at(0.0, 0, None)]) == ["primary"]
    ab = [CounterSample(0.0, 0, 0, 0.0), CounterSample(1.0, 5, 1, 0.2, {SECONDARY: ModelCounts(3)})]
    assert list(windows_by_model(ab, 1.0)) == ["primary", SECONDARY]


class RangeAnswers:
    """What Prometheus's range queries answer: per step, the counters by model, and the time
    of the newest scrape they hold."""

    def __init__(self, points: list[tuple[float, float, int, int]]) -> None:
        self.points = points  # (step time, scrape time, primary evaluations, shadow's)

    def query_range_by(
        self, expr: str, label: str, start: float, end: float, step: float
    ) -> dict[str, list[tuple[float, float]]]:
        assert label == "model" and "sum by (model)" in expr
        column = 1.0 if "evaluations" in expr else 0.25 if "hits" in expr else 0.05
        return {
            "primary": [(t, n * column) for t, _, n, _ in self.points],
            SHADOW: [(t, s * column) for t, _, _, s in self.points if s],
        }

    def query_range(
        self, expr: str, start: float, end: float, step: float
    ) -> list[tuple[float, float]]:
        assert expr.startswith("max(timestamp(")
        return [(t, scraped) for t, scraped, _, _ in self.points]


def test_prometheus_samples_are_dated_by_their_scrape_and_repeats_left_out() -> None:
    # evaluations every 0.5 s see the scrapes at 100.3 and 101.3 (the one due at 100.8 late)
    answers = RangeAnswers([(100.5, 100.3, 40, 0), (101.0, 100.3, 40, 0), (101.5, 101.3, 90, 30)])
    samples = samples_from_prometheus(answers, 100.5, 101.5, 0.5)  # type: ignore[arg-type]
    assert [s.t for s in samples] == [100.3, 101.3]  # 101.0 saw no new scrape
    assert [s.evaluations for s in samples] == [40, 90]
    assert samples[0].others == {} and samples[1].counts(SHADOW) == ModelCounts(30, 7.5, 1.5)
    late = RangeAnswers([(101.0, 100.9, 40, 0)])
    first, only = samples_from_prometheus(late, 100.9, 101.0, 0.5)  # type: ignore[arg-type]
    assert (first.t, first.evaluations) == (100.5, 0)  # zero at the first step before it
    assert (only.t, only.evaluations) == (100.9, 40)
