"""What ``streamrec explain`` writes: ``explain.json``, ``explain.png`` and a readable table.

The PNG has three rows: mean attention by clicks before the last, and by position from the
first click, per behaviour (one panel per length bucket, a colour per behaviour, the uniform
baseline of all prefixes black dashed); then one heat map per behaviour of the mean weight
times L by prefix length L and position (1 = uniform).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from streamrec.model.explain.profile import ALL, LENGTH_BUCKETS
from streamrec.model.explain.workflow import Explanation
from streamrec.plotting import REFERENCE, new_figure, save, title

if TYPE_CHECKING:
    from matplotlib.figure import Figure

COLUMNS = (
    ("last", "last_click"),
    ("last 3", "last_3"),
    ("first", "first_click"),
    ("middle", "middle_per_click"),
)
# one colour per behaviour, none of them black (the uniform reference is black dashed)
BEHAVIOUR_COLOURS = ("tab:blue", "tab:orange", "tab:green", "tab:purple", "tab:brown")
UNIFORM_LABEL = "uniform (mean 1/L)"


def write_outputs(explanation: Explanation, out_dir: Path) -> tuple[Path, Path]:
    """``explain.json`` and ``explain.png`` in ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, png_path = out_dir / "explain.json", out_dir / "explain.png"
    json_path.write_text(json.dumps(explanation_json(explanation), indent=1) + "\n")
    plot(explanation, png_path)
    return json_path, png_path


def explanation_json(explanation: Explanation) -> dict[str, Any]:
    """``explanation`` as JSON-ready values (NaN, where a group is empty, as None)."""
    plain = _plain(explanation.to_json())
    assert isinstance(plain, dict)
    return plain


def _plain(value: Any) -> Any:
    """``value`` with numpy scalars as Python's and NaN as None (JSON has no NaN)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def table_lines(explanation: Explanation) -> list[str]:
    """The summary table (attention share / uniform share per column) and the verdicts."""
    about = explanation.about
    lines = [
        f"{about['architecture']} attention on {about['source']} (split={about['split']}): "
        f"{about['n_prefixes'] - about['n_too_short']:,} prefixes of {about['min_length']}+ "
        f"clicks; weights: {about['weights']}",
        "share of attention (uniform share in brackets); entropy: normalised, 1 = uniform",
        f"{'behaviour':<11s} {'length':<7s} {'prefixes':>9s} "
        + " ".join(f"{name:>15s}" for name, _ in COLUMNS)
        + f" {'entropy':>8s}",
    ]
    for behavior, buckets in explanation.profile.summaries().items():
        for bucket, s in buckets.items():
            if not s["n_prefixes"]:
                continue
            shares = " ".join(
                f"{s[key]['attention']:7.3f} ({s[key]['uniform']:5.3f})" for _, key in COLUMNS
            )
            entropy = s["normalised_entropy"]["attention"]
            lines.append(
                f"{behavior:<11s} {bucket:<7s} {s['n_prefixes']:9,d} {shares} {entropy:8.3f}"
            )
    for verdict in explanation.claims:
        holds = {True: "HOLDS", False: "does not hold", None: "not tested"}[verdict["holds"]]
        lines.append(f"{holds:>13s}: {verdict['claim']} [{verdict['rule']}]")
    return lines


def explain_figure(explanation: Explanation) -> Figure:
    """The figure described in the module docstring."""
    profile = explanation.profile
    behaviors = profile.behaviors or [ALL]
    buckets = [name for name, _, _ in LENGTH_BUCKETS]
    columns = max(len(buckets), len(behaviors))
    fig, axes = new_figure(3, columns, figsize=(4.6 * columns, 12.0), squeeze=False)
    colours = BEHAVIOUR_COLOURS
    for col, bucket in enumerate(buckets):
        uniform = profile.summary(ALL, bucket)["uniform_by_position"]
        for row, key, xlabel in (
            (0, "by_position_from_end", "clicks before the last (0 = the last click)"),
            (1, "by_position_from_start", "position from the window's first click (0 = first)"),
        ):
            ax = axes[row][col]
            if not profile.summary(ALL, bucket)["n_prefixes"]:
                ax.text(0.5, 0.5, "no prefixes of these lengths", ha="center", va="center",
                        transform=ax.transAxes, color="dimgrey")  # fmt: skip
            for k, behavior in enumerate(behaviors):
                values = profile.summary(behavior, bucket)[key]
                xs = [x for x, v in enumerate(values) if v is not None]
                ax.plot(xs, [values[x] for x in xs], marker="o", markersize=3,
                        color=colours[k % len(colours)], label=behavior)  # fmt: skip
            xs = [x for x, v in enumerate(uniform) if v is not None]
            ax.plot(xs, [uniform[x] for x in xs], label=UNIFORM_LABEL, **REFERENCE)
            ax.set_title(f"{bucket} prefixes ({_range(bucket, profile.max_len)} clicks)")
            ax.set_xlabel(xlabel, fontsize=8)
            ax.set_ylabel("mean attention weight (share)")
            ax.set_ylim(bottom=0)
            ax.grid(alpha=0.3)
    for col in range(len(buckets), columns):
        for row in (0, 1):
            axes[row][col].axis("off")
    handles, labels = max(
        (
            axes[row][col].get_legend_handles_labels()
            for row in (0, 1)
            for col in range(len(buckets))
        ),
        key=lambda found: len(found[1]),
    )  # the panel that names every behaviour (a length bucket can have no prefixes)
    fig.legend(handles, labels, loc="outside lower center", ncols=len(labels), fontsize=9)
    for col in range(columns):
        ax = axes[2][col]
        if col >= len(behaviors):
            ax.axis("off")
            continue
        grid = profile.lift_grid(behaviors[col])
        image = ax.imshow(grid, aspect="auto", origin="lower", cmap="RdBu_r", vmin=0, vmax=2)
        ax.set_ylim(2.5, profile.max_len + 0.5)
        ax.set_title(f"{behaviors[col]}: mean weight x L by prefix length")
        ax.set_xlabel("position from the window's first click")
        ax.set_ylabel("prefix length L (clicks)")
        fig.colorbar(image, ax=ax, fraction=0.046, label="mean weight x L (1 = uniform)")
    about = explanation.about
    title(
        fig,
        f"{about['architecture']} attention by click position, per behaviour and prefix "
        f"length, against uniform (dashed): {about['source']}, split={about['split']} "
        f"({about['model']})",
    )
    return fig


def plot(explanation: Explanation, path: Path) -> None:
    """Write ``explain_figure`` as a PNG at ``path``."""
    save(explain_figure(explanation), path, dpi=100)


def _range(bucket: str, max_len: int) -> str:
    for name, low, high in LENGTH_BUCKETS:
        if name == bucket:
            return f"{low}-{high or max_len}"
    return "all"
