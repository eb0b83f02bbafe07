"""The conventions every StreamRec figure follows, in one place.

Each figure is built by a pure function that returns a matplotlib ``Figure`` (tests inspect
its titles, labels and series) and is written with ``save``. Figures are bare ``Figure``
objects, not pyplot's: no global state, no backend switch, nothing to close. matplotlib is
imported only when a figure is built, so importing this module costs nothing.

Conventions:
- a title (``title``) says what the figure shows; every axis label names its unit;
- legends sit outside the axes (``legend_outside``), where they hide no data;
- reference lines (uniform, oracle, linear scaling, offered rate) are black dashed
  (``REFERENCE``), the measured series coloured;
- a window cut short by the end of a run is drawn hollow, off the line (``mark_partial``);
  windows without data are shaded and named (``shade_spans``);
- counts and rates start at 0 (``from_zero``); a log axis says so in its label.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

REFERENCE: dict[str, Any] = {"color": "black", "linestyle": "--", "linewidth": 1.0}
EMPTY_STYLE: dict[str, Any] = {"color": "tab:grey", "alpha": 0.18, "linewidth": 0}
UNSAMPLED_STYLE: dict[str, Any] = {"facecolor": "none", "edgecolor": "tab:grey", "hatch": "//",
                                   "alpha": 0.45, "linewidth": 0}  # fmt: skip
PARTIAL = "partial window"
LEGEND_FONT = 8
DPI = 110


def new_figure(
    rows: int = 1, cols: int = 1, figsize: tuple[float, float] = (10.0, 4.5), **kwargs: Any
) -> tuple[Figure, Any]:
    """A figure laid out by matplotlib's constrained layout (room for outside legends) and
    its axes, as ``Figure.subplots`` returns them (``kwargs`` go there)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.subplots(rows, cols, **kwargs)


def _chars(fig: Figure, points: float) -> int:
    """About how many characters of a ``points`` font fit across ``fig``."""
    return max(40, int(fig.get_figwidth() * 72 / (0.55 * points)))


def _wrap(text: str, width: int) -> str:
    return "\n".join(textwrap.fill(line, width) for line in text.splitlines())


def title(fig: Figure, text: str) -> None:
    """The figure's title, each line wrapped to the figure's width."""
    fig.suptitle(_wrap(text, _chars(fig, 10)), fontsize=10)


def note(fig: Figure, text: str) -> None:
    """Small print under the figure (what its marks mean), wrapped to its width."""
    fig.supxlabel(_wrap(text, _chars(fig, 8)), fontsize=8, color="dimgrey")


def legend_outside(ax: Axes, handles: Sequence[Any] | None = None) -> None:
    """The axes' legend to its right, outside the data (``handles``: the entries, when
    they come from twin axes too)."""
    if handles is None:
        handles, _ = ax.get_legend_handles_labels()
    if handles:
        ax.legend(
            handles=list(handles),
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
            borderaxespad=0.0,
            fontsize=LEGEND_FONT,
        )


def from_zero(*axes: Axes, headroom: float = 0.08) -> None:
    """Start the y axis of each of ``axes`` at 0 (counts, rates, fractions), its top
    ``headroom`` above the highest data point so no marker is cut."""
    for ax in axes:
        top = ax.dataLim.y1
        ax.set_ylim(0, top * (1 + headroom) if math.isfinite(top) and top > 0 else 1.0)


def integer_ticks(ax: Axes) -> None:
    """Whole numbers only on the x axis (epochs, counts)."""
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def nan_for_none(values: Sequence[float | None]) -> list[float]:
    """``values`` with None as NaN: matplotlib leaves a gap there."""
    return [float("nan") if v is None else float(v) for v in values]


def mark_partial(ax: Axes, x: float, y: float | None, colour: str, label: bool = True) -> None:
    """A hollow marker at (x, y) for a window cut short by the end of the run (``label``:
    whether it gets a legend entry)."""
    if y is None:
        return
    ax.plot(
        [x], [y], linestyle="none", marker="o", markersize=7, markerfacecolor="white",
        markeredgecolor=colour, markeredgewidth=1.5, label=PARTIAL if label else "_nolegend_",
    )  # fmt: skip


def shade_spans(
    ax: Axes,
    spans: Sequence[tuple[float, float]],
    label: str | None,
    style: dict[str, Any] | None = None,
) -> None:
    """Shade each (start, end) span of the x axis (``style``: ``EMPTY_STYLE`` unless given);
    ``label`` on the first (a legend entry)."""
    for k, (start, end) in enumerate(spans):
        ax.axvspan(start, end, label=label if k == 0 and label else "_nolegend_",
                   **(style or EMPTY_STYLE))  # fmt: skip


def save(fig: Figure, path: Path, dpi: int = DPI) -> Path:
    """Write ``fig`` as a PNG at ``path`` (its folder made), everything in frame."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    return path
