"""The attention figure: each behaviour in a colour of its own, the uniform baseline a black
dashed reference on every position panel, a heat map per behaviour, units in the labels."""

from __future__ import annotations

from pathlib import Path

import torch
from matplotlib.colors import to_rgba

from streamrec.model.data.examples import build_examples
from streamrec.model.explain.attention import AttentionReader
from streamrec.model.explain.report import UNIFORM_LABEL, explain_figure, plot
from streamrec.model.explain.workflow import Explanation, profile_attention
from tests.unit.figures import is_reference, series, suptitle


def _last_heavy(windows: torch.Tensor) -> torch.Tensor:
    real = (windows > 0).float()
    real[:, -1] += 3.0
    return real / real.sum(dim=1, keepdim=True)


def explanation() -> Explanation:
    sessions = [[1, 2, 3, 4, 5, 6, 7, 8, 9], [2, 3, 4, 5], [5, 6, 7, 8, 9, 1, 2, 3, 4, 5, 6, 7]]
    examples = build_examples(sessions, max_len=25)
    labels: list[str | None] = ["comparison", "deep_dive", "explorer"]
    reader = AttentionReader("test", "last-heavy", _last_heavy)
    profile = profile_attention(reader, examples, labels, max_len=25)
    about = {"architecture": "lstm-attn", "source": "generated", "split": "session",
             "model": "m.pt"}  # fmt: skip
    return Explanation(profile, [], about)


def test_uniform_is_a_black_dashed_reference_and_behaviours_have_distinct_colours(
    tmp_path: Path,
) -> None:
    fig = explain_figure(explanation())
    assert suptitle(fig).startswith("lstm-attn attention by click position")
    assert "against uniform (dashed)" in suptitle(fig)
    position_panels = [ax for ax in fig.axes if ax.get_ylabel().startswith("mean attention")]
    assert len(position_panels) == 6
    for ax in position_panels:
        lines = series(ax)
        assert is_reference(lines[UNIFORM_LABEL])
        colours = [to_rgba(lines[b].get_color()) for b in ("comparison", "deep_dive", "explorer")]
        assert len(set(colours)) == 3 and to_rgba("black") not in colours
        assert ax.get_ylim()[0] == 0 and "click" in ax.get_xlabel()
    legend_texts = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend_texts == ["comparison", "deep_dive", "explorer", UNIFORM_LABEL]
    assert any(t.get_text() == "no prefixes of these lengths" for ax in fig.axes for t in ax.texts)
    heat_maps = [ax for ax in fig.axes if ax.get_ylabel() == "prefix length L (clicks)"]
    assert len(heat_maps) == 3
    plot(explanation(), tmp_path / "explain.png")
    assert (tmp_path / "explain.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
