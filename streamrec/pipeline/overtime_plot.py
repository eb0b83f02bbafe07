"""The online-over-time figure (``online-over-time.png``): per window, each model's online
Hit@10 (beside the oracle's, when known), MRR@20 and evaluations per second, against time.

Every model that ran has its own series, named in the legend: ``primary`` alone; ``primary``
and ``shadow``; or an A/B split's ``arm A (primary)`` and ``arm B (secondary)``. The last
window, cut short by the end of the run, is drawn hollow and off the line; windows in which
no model evaluated anything are shaded, those without a new sample of the counters in them
hatched; the small print under the figure says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from streamrec.contract.names import PRIMARY, SECONDARY, SHADOW
from streamrec.pipeline.overtime import OracleLine, Window
from streamrec.plotting import (
    REFERENCE,
    UNSAMPLED_STYLE,
    from_zero,
    legend_outside,
    mark_partial,
    nan_for_none,
    new_figure,
    note,
    save,
    shade_spans,
    title,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

COLOURS = {PRIMARY: "tab:blue", SHADOW: "tab:orange", SECONDARY: "tab:orange"}
MARKERS = {PRIMARY: "o", SHADOW: "s", SECONDARY: "s"}
HIT_LABEL = "online Hit@10\n(fraction)"
MRR_LABEL = "online MRR@20\n(mean reciprocal rank)"
RATE_LABEL = "online evaluations/s"
EMPTY_LABEL = "no evaluations in window"
UNSAMPLED_LABEL = "no new sample in window"
ORACLE_LABEL = "oracle Hit@10"
DRIFT_LABEL = "drift reaches the stream"
REPLAY_AXIS = "seconds since the replay started"


def arm_names(models: Sequence[str]) -> dict[str, str]:
    """Each model's name in the legend: ``primary`` (and ``shadow``), or an A/B split's
    ``arm A (primary)`` and ``arm B (secondary)``."""
    if SECONDARY in models:
        return {PRIMARY: "arm A (primary)", SECONDARY: "arm B (secondary)"}
    return {m: m for m in models}


def _mid(w: Window) -> float:
    return (w.start_s + w.end_s) / 2


def draw_windows(
    ax: Axes,
    series: Sequence[Window],
    values: Sequence[float | None],
    label: str,
    partial_label: bool = True,
    **style: Any,
) -> None:
    """One series of per-window ``values``: full windows as a line at their middles, a
    partial window as a hollow marker off the line (``partial_label``: with a legend entry).
    ``style``: the line's (``color`` is required)."""
    full = [(_mid(w), v) for w, v in zip(series, values) if not w.partial]
    ax.plot([x for x, _ in full], nan_for_none([v for _, v in full]), label=label, **style)
    for k, (w, v) in enumerate((w, v) for w, v in zip(series, values) if w.partial):
        mark_partial(ax, _mid(w), v, style["color"], label=partial_label and k == 0)


def _empty_spans(
    by_model: Mapping[str, Sequence[Window]], sampled: bool
) -> list[tuple[float, float]]:
    """The windows in which no model evaluated anything: those with a sample in them
    (``sampled``: nothing was scored), or those without one (their counts fall in the next)."""
    columns = zip(*by_model.values())
    return [
        (ws[0].start_s, ws[0].end_s)
        for ws in columns
        if not any(w.evaluations for w in ws) and (ws[0].seconds > 0) == sampled
    ]


def small_print(primary: Sequence[Window], idle: bool = False, unsampled: bool = False) -> str:
    """What the marks of a figure of ``primary``'s windows mean: the window length, the
    partial window (its length and the seconds its counts cover), shaded idle windows and
    hatched windows without a sample."""
    window_s = max((w.end_s - w.start_s for w in primary), default=0.0)
    parts = [
        f"Each point: one {window_s:.3g} s window, at its middle; its rates are over the "
        "seconds between the two samples that bound it."
    ]
    partial = [w for w in primary if w.partial]
    if partial:
        w = partial[-1]
        parts.append(
            f"Hollow, off the line: the last window, {w.end_s - w.start_s:.2g} s long, cut "
            f"short by the end of the run (its counts cover {w.seconds:.2g} s)."
        )
    if idle:
        parts.append(
            "Shaded: no online evaluation counted in the window (a consumer counts a batch's "
            "evaluations when the batch is done)."
        )
    if unsampled:
        parts.append(
            "Hatched: no new sample of the counters fell in the window (a late scrape); its "
            "evaluations count in the next window, whose rate covers both."
        )
    return " ".join(parts)


def over_time_figure(
    by_model: Mapping[str, Sequence[Window]],
    heading: str,
    oracle: OracleLine | None = None,
    marker_s: float | None = None,
    xlabel: str = REPLAY_AXIS,
    names: Mapping[str, str] | None = None,
) -> Figure:
    """Three panels sharing the time axis: online Hit@10 (the oracle's dashed when given),
    online MRR@20 and evaluations per second, one series per model (``by_model``: model
    label -> its windows, the primary's first); ``marker_s``: a drift's moment, a vertical
    line on every panel; ``names``: legend names in place of ``arm_names``'."""
    fig, (ax_hit, ax_mrr, ax_rate) = new_figure(
        3, 1, figsize=(11.0, 8.0), sharex=True, gridspec_kw={"height_ratios": [3, 2, 2]}
    )
    names = {**arm_names(list(by_model)), **(names or {})}
    for k, (model, series) in enumerate(by_model.items()):
        style = {"color": COLOURS.get(model, "tab:green"), "marker": MARKERS.get(model, "^"),
                 "markersize": 4}  # fmt: skip
        last = k == len(by_model) - 1  # names the partial window, after the models
        draw_windows(ax_hit, series, [w.hit_at_10 for w in series], names[model], last, **style)
        draw_windows(ax_mrr, series, [w.mrr_at_20 for w in series], names[model], last, **style)
        rates = [w.evaluations_per_s for w in series]
        draw_windows(ax_rate, series, rates, names[model], last, **style)
    if oracle:
        ax_hit.plot([t for t, _ in oracle], [v for _, v in oracle], label=ORACLE_LABEL,
                    **REFERENCE)  # fmt: skip
    idle, unsampled = _empty_spans(by_model, True), _empty_spans(by_model, False)
    for ax in (ax_hit, ax_mrr, ax_rate):
        shade_spans(ax, idle, EMPTY_LABEL if ax is ax_hit else None)
        shade_spans(ax, unsampled, UNSAMPLED_LABEL if ax is ax_hit else None, UNSAMPLED_STYLE)
        if marker_s is not None:
            ax.axvline(marker_s, color="tab:red", linestyle=":",
                       label=DRIFT_LABEL if ax is ax_hit else "_nolegend_")  # fmt: skip
        ax.grid(alpha=0.3)
        legend_outside(ax)
    ax_hit.set_ylabel(HIT_LABEL)
    ax_mrr.set_ylabel(MRR_LABEL)
    ax_rate.set_ylabel(RATE_LABEL)
    ax_rate.set_xlabel(xlabel)
    from_zero(ax_hit, ax_mrr, ax_rate)
    title(fig, heading)
    note(fig, small_print(next(iter(by_model.values()), []), bool(idle), bool(unsampled)))
    return fig


def plot_over_time(
    by_model: Mapping[str, Sequence[Window]],
    path: Path,
    heading: str,
    oracle: OracleLine | None = None,
    marker_s: float | None = None,
    xlabel: str = REPLAY_AXIS,
    names: Mapping[str, str] | None = None,
) -> None:
    """Write ``over_time_figure`` as a PNG at ``path``."""
    save(over_time_figure(by_model, heading, oracle, marker_s, xlabel, names), path)
