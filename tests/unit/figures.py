"""Reading a matplotlib Figure the way a reader of its PNG would: titles, axis labels, the
series and their legend names, hollow markers, shaded spans, and where the legends sit."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle


def suptitle(fig: Figure) -> str:
    """The figure's title (newlines from wrapping as spaces)."""
    return " ".join(fig.get_suptitle().split())


def small_print(fig: Figure) -> str:
    """The figure's note under the panels (``plotting.note``)."""
    return " ".join(fig.get_supxlabel().split())


def series(ax: Axes) -> dict[str, Line2D]:
    """The axes' named lines by their legend name."""
    named = ((str(line.get_label()), line) for line in ax.get_lines())
    return {label: line for label, line in named if not label.startswith("_")}


def xs(line: Line2D) -> list[float]:
    """The line's x values."""
    return [float(v) for v in np.asarray(line.get_xdata(), dtype=float)]


def ys(line: Line2D) -> list[float]:
    """The line's y values."""
    return [float(v) for v in np.asarray(line.get_ydata(), dtype=float)]


def bars(ax: Axes) -> list[Rectangle]:
    """The axes' bars, in drawing order."""
    return [p for p in ax.patches if isinstance(p, Rectangle)]


def legend_names(ax: Axes) -> list[str]:
    """The names in the axes' legend."""
    legend = ax.get_legend()
    return [] if legend is None else [t.get_text() for t in legend.get_texts()]


def hollow(line: Line2D) -> bool:
    """Whether ``line`` is drawn as unconnected markers with a white face."""
    return line.get_linestyle() == "None" and to_rgba(line.get_markerfacecolor()) == to_rgba(
        "white"
    )


def shaded(ax: Axes, label: str) -> list[Any]:
    """The shaded spans of the axes (``axvspan``), the first one named ``label``."""
    spans = [p for p in ax.patches if p.get_label() in (label, "_nolegend_")]
    return spans if spans and spans[0].get_label() == label else []


def legends_hide_no_data(fig: Figure) -> bool:
    """Whether every axes' legend lies outside that axes' plotting area."""
    fig.draw_without_rendering()
    for ax in fig.axes:
        legend = ax.get_legend()
        if legend is None:
            continue
        box, area = legend.get_window_extent(), ax.get_window_extent()
        if box.overlaps(area):
            return False
    return True


def is_reference(line: Line2D) -> bool:
    """Whether ``line`` has the reference style: black dashed."""
    return to_rgba(line.get_color()) == to_rgba("black") and line.get_linestyle() == "--"
