"""PNG plots of training curves (``*.curves.png``)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from streamrec.model.training.trainer import EpochRecord
from streamrec.plotting import REFERENCE, integer_ticks, legend_outside, new_figure, save, title

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

LOSS_LABEL = "cross-entropy loss (nats, mean per prefix)"
METRIC_LABEL = "validation metric\n(Hit: fraction; MRR: mean reciprocal rank)"
NO_LOSS = "no training loss: a fitted model (counts or neighbours), one pass"
METRICS = (("hit_at_10", "Hit@10"), ("hit_at_20", "Hit@20"), ("mrr_at_20", "MRR@20"))


def _known(values: Sequence[float | None]) -> bool:
    return any(v is not None and not math.isnan(v) for v in values)


def _metrics_panel(
    ax: Axes, history: Sequence[EpochRecord], reference: dict[str, float] | None
) -> None:
    """Hit@10, Hit@20 and MRR@20 per epoch, or as bars with their values when there is one
    epoch (a fitted model's one pass); ``reference`` lines black dashed."""
    epochs = [r.epoch for r in history]
    if len(history) == 1:
        values = [getattr(history[0], key) for key, _ in METRICS]
        bars = ax.bar([label for _, label in METRICS], values,
                      color=["tab:blue", "tab:orange", "tab:green"])  # fmt: skip
        ax.bar_label(bars, fmt="%.4f", fontsize=8)
        ax.set_xlabel("metric (one pass over the validation prefixes)")
    else:
        for key, label in METRICS:
            ax.plot(epochs, [getattr(r, key) for r in history], marker="o", label=label)
        ax.set_xlabel("epoch")
        integer_ticks(ax)
    for k, (name, value) in enumerate((reference or {}).items()):
        ax.axhline(value, label="reference" if k == 0 else "_nolegend_", **REFERENCE)
        ax.annotate(name, (0, value), xycoords=("axes fraction", "data"),
                    textcoords="offset points", xytext=(2, 3))  # fmt: skip
    ax.set_ylabel(METRIC_LABEL)
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    legend_outside(ax)


def training_curves_figure(
    history: Sequence[EpochRecord], reference: dict[str, float] | None = None, heading: str = ""
) -> Figure:
    """Loss (train and validation) and Hit@10/Hit@20/MRR@20 per epoch; ``reference`` lines
    (e.g. an oracle's), black dashed; ``heading`` names the run. A model without a training
    loss (count and neighbourhood models) gets the metrics panel alone, and the title says
    why; a loss with no values (no validation data) is left out of the legend."""
    train = [r.train_loss for r in history]
    val = [r.val_loss for r in history]
    has_loss = _known(train) or _known(val)
    if has_loss:
        fig, (ax_loss, ax_rank) = new_figure(1, 2, figsize=(12.0, 4.4))
        epochs = [r.epoch for r in history]
        for label, values in (("train loss", train), ("validation loss", val)):
            if _known(values):
                ax_loss.plot(epochs, values, marker="o", label=label)
        ax_loss.set_xlabel("epoch")
        integer_ticks(ax_loss)
        ax_loss.set_ylabel(LOSS_LABEL)
        ax_loss.grid(alpha=0.3)
        legend_outside(ax_loss)
        what = "training loss and validation metrics per epoch"
    else:
        fig, ax_rank = new_figure(figsize=(7.0, 4.4))
        what = f"validation metrics ({NO_LOSS})"
    _metrics_panel(ax_rank, history, reference)
    title(fig, f"{heading}\n{what}" if heading else what)
    return fig


def plot_training_curves(
    history: Sequence[EpochRecord],
    path: Path,
    reference: dict[str, float] | None = None,
    title: str = "",
) -> None:
    """Write ``training_curves_figure`` as a PNG at ``path`` (``title`` names the run)."""
    save(training_curves_figure(history, reference, title), path)
