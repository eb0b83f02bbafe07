"""The online-over-time figure: one labelled series per model on every panel, the partial
window hollow and off the line at its honest rate, empty windows shaded, units in the labels,
legends outside the data."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from streamrec.contract.names import PRIMARY, SECONDARY, SHADOW
from streamrec.pipeline.overtime import CounterSample, ModelCounts, windows_by_model
from streamrec.pipeline.overtime_plot import (
    DRIFT_LABEL,
    EMPTY_LABEL,
    ORACLE_LABEL,
    UNSAMPLED_LABEL,
    over_time_figure,
    plot_over_time,
)
from streamrec.plotting import PARTIAL
from tests.unit.figures import (
    hollow,
    is_reference,
    legend_names,
    legends_hide_no_data,
    series,
    shaded,
    small_print,
    suptitle,
    xs,
    ys,
)


def run(second: str | None = SHADOW) -> list[CounterSample]:
    """Samples at 0, 0.5, ..., 2.5, 2.9 and a last one at 3.3, 100 more primary evaluations
    at each but none from 1.0 to 2.0; the second model half as many."""
    out, n = [], 0
    times = [0.5 * k for k in range(6)] + [2.9, 3.3]
    for t in times:
        if t > 0 and not 1.0 < t <= 2.0:
            n += 100
        others = {} if second is None or n == 0 else {second: ModelCounts(n // 2, n // 8, n / 40)}
        out.append(CounterSample(1000.0 + t, n, n // 4, n / 20, others))
    return out


def test_a_shadow_run_plots_both_models_labelled_on_every_panel() -> None:
    fig = over_time_figure(windows_by_model(run(), 1.0), "StreamRec demo")
    hit, mrr, rate = fig.axes
    for ax in (hit, mrr, rate):
        assert {PRIMARY, SHADOW} <= set(series(ax))
        assert legend_names(ax)[:2] == [PRIMARY, SHADOW]
    # the second model's own figures, not a copy of the primary's
    assert ys(series(rate)[PRIMARY]) == pytest.approx([200.0, 0.0, 200 / 0.9])
    assert ys(series(rate)[SHADOW]) == pytest.approx([100.0, 0.0, 100 / 0.9])


def test_an_ab_split_names_its_arms() -> None:
    fig = over_time_figure(windows_by_model(run(SECONDARY), 1.0), "A/B")
    for ax in fig.axes:
        assert {"arm A (primary)", "arm B (secondary)"} <= set(series(ax))


def test_the_partial_window_is_hollow_off_the_line_at_its_covered_rate() -> None:
    by_model = windows_by_model(run(None), 1.0)
    assert [w.partial for w in by_model[PRIMARY]] == [False, False, False, True]
    fig = over_time_figure(by_model, "demo")
    rate = fig.axes[2]
    line = series(rate)[PRIMARY]
    assert xs(line) == [0.5, 1.5, 2.5]  # the partial window is off the line
    partial = series(rate)[PARTIAL]
    assert hollow(partial)
    assert xs(partial) == [pytest.approx(3.15)]
    # its 100 evaluations came between the samples at 2.9 and 3.3: 250/s over those 0.4 s,
    # not 333/s over the window's nominal 0.3 s
    assert ys(partial) == [pytest.approx(250.0)]
    assert legend_names(fig.axes[0]) == [PRIMARY, PARTIAL, EMPTY_LABEL]
    assert "the last window, 0.3 s long" in small_print(fig)
    assert "its counts cover 0.4 s" in small_print(fig)


def test_windows_without_evaluations_are_shaded_and_explained() -> None:
    fig = over_time_figure(windows_by_model(run(), 1.0), "demo")
    hit = fig.axes[0]
    assert len(shaded(hit, EMPTY_LABEL)) == 1 and EMPTY_LABEL in legend_names(hit)
    assert all(shaded(ax, "_nolegend_") for ax in fig.axes[1:])
    assert "Shaded: no online evaluation counted in the window" in small_print(fig)
    full = over_time_figure(windows_by_model(run()[:3], 1.0), "demo")
    assert not shaded(full.axes[0], EMPTY_LABEL) and "Shaded" not in small_print(full)


def test_a_window_without_a_sample_is_hatched_and_the_next_rate_covers_both() -> None:
    samples = [CounterSample(1000.0 + t, n, n // 4, n / 20)
               for t, n in ((0.0, 0), (0.5, 50), (1.0, 100), (2.2, 220), (3.0, 300))]  # fmt: skip
    by_model = windows_by_model(samples, 1.0)
    assert [w.seconds for w in by_model[PRIMARY]] == [1.0, 0.0, 2.0]
    fig = over_time_figure(by_model, "demo")
    hit, _, rate = fig.axes
    assert len(shaded(hit, UNSAMPLED_LABEL)) == 1 and not shaded(hit, EMPTY_LABEL)
    assert UNSAMPLED_LABEL in legend_names(hit)
    values = ys(series(rate)[PRIMARY])
    assert values[0] == 100.0 and math.isnan(values[1]) and values[2] == 100.0  # 200 over 2 s
    assert "Hatched: no new sample" in small_print(fig) and "Shaded" not in small_print(fig)


def test_units_title_oracle_drift_and_legends_outside() -> None:
    oracle = [(0.0, 0.4), (1.5, 0.4), (1.5, 0.3), (3.3, 0.3)]
    fig = over_time_figure(windows_by_model(run(), 1.0), "StreamRec demo", oracle, 1.5)
    hit, mrr, rate = fig.axes
    assert suptitle(fig) == "StreamRec demo"
    assert "Hit@10" in hit.get_ylabel() and "fraction" in hit.get_ylabel()
    assert "MRR@20" in mrr.get_ylabel() and "reciprocal rank" in mrr.get_ylabel()
    assert rate.get_ylabel() == "online evaluations/s"
    assert rate.get_xlabel() == "seconds since the replay started"
    assert all(ax.get_ylim()[0] == 0 for ax in fig.axes)
    assert is_reference(series(hit)[ORACLE_LABEL])
    assert DRIFT_LABEL in legend_names(hit)
    for ax in fig.axes:  # the drift's moment on every panel
        assert any(xs(line) == [1.5, 1.5] for line in ax.get_lines())
    assert legends_hide_no_data(fig)


def test_the_png_is_written(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "online-over-time.png"
    plot_over_time(windows_by_model(run(), 1.0), path, "demo")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_legend_names_can_be_given_per_model() -> None:
    names = {PRIMARY: "learning (versions every 2s)", SHADOW: "frozen (the same model)"}
    fig = over_time_figure(windows_by_model(run(), 1.0), "StreamRec demo --learn", names=names)
    for ax in fig.axes:
        assert legend_names(ax)[:2] == list(names.values())
        assert set(names.values()) <= set(series(ax))
