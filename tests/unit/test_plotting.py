"""The shared figure conventions: matplotlib only when a figure is built, axes from 0 with
room for the highest marker, None as a gap, titles wrapped to the figure."""

from __future__ import annotations

import math
import subprocess
import sys

from streamrec.plotting import from_zero, nan_for_none, new_figure, title
from tests.unit.figures import suptitle


def test_importing_the_helpers_does_not_import_matplotlib() -> None:
    code = "import sys, streamrec.plotting; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_from_zero_leaves_headroom_above_the_highest_point() -> None:
    _, ax = new_figure()
    ax.plot([0, 1, 2], [230.0, 250.0, 240.0])
    from_zero(ax)
    assert ax.get_ylim() == (0.0, 250.0 * 1.08)
    _, empty = new_figure()
    from_zero(empty)
    assert empty.get_ylim() == (0.0, 1.0)


def test_none_is_a_gap_and_titles_wrap_line_by_line() -> None:
    values = nan_for_none([1, None, 2.5])
    assert values[0] == 1.0 and math.isnan(values[1]) and values[2] == 2.5
    fig, _ = new_figure(figsize=(4.0, 3.0))
    title(fig, "first line\n" + "word " * 40)
    text = fig.get_suptitle()
    assert text.startswith("first line\nword") and text.count("\n") >= 2
    assert suptitle(fig).startswith("first line word word")
