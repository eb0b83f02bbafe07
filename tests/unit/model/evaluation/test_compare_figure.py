"""The comparison figure: one bar per metric and model, the oracle hatched as a reference,
what and on what in the title, units in the label, the legend outside the bars."""

from __future__ import annotations

from streamrec.model.evaluation.compare import ComparisonRow, comparison_figure
from tests.unit.figures import bars, legend_names, legends_hide_no_data, suptitle


def row(model: str, hit: float) -> ComparisonRow:
    return ComparisonRow(model, hit, hit * 1.2, hit / 2, 0.5, 1234, 1.0, 10, 1000.0)


def test_bars_per_metric_and_model_with_the_oracle_hatched() -> None:
    rows = [row("markov", 0.2), row("sasrec", 0.25), row("oracle", 0.5)]
    fig = comparison_figure(rows, "generated(users=400, seed=42)")
    (ax,) = fig.axes
    assert suptitle(fig) == (
        "StreamRec compare: Hit@10, Hit@20 and MRR@20 by model on 1,234 held-out prefixes of "
        "generated(users=400, seed=42)"
    )
    assert legend_names(ax) == ["Hit@10", "Hit@20", "MRR@20"]
    heights = [bar.get_height() for bar in bars(ax)]
    assert len(heights) == 9 and heights[:3] == [0.2, 0.25, 0.5]
    hatched = [bar.get_hatch() for bar in bars(ax)]
    assert hatched == [None, None, "//"] * 3
    assert [t.get_text() for t in ax.get_xticklabels()] == ["markov", "sasrec", "oracle"]
    assert "oracle" in ax.get_xlabel() and "reference" in ax.get_xlabel()
    assert "fraction" in ax.get_ylabel() and "reciprocal rank" in ax.get_ylabel()
    assert ax.get_ylim()[0] == 0
    assert legends_hide_no_data(fig)


def test_without_an_oracle_the_axis_is_just_the_models() -> None:
    (ax,) = comparison_figure([row("markov", 0.2)], "log.csv").axes
    assert ax.get_xlabel() == "model"
    assert all(bar.get_hatch() is None for bar in bars(ax))
