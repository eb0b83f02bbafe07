"""PNG plots of training curves."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from streamrec.model.training.trainer import EpochRecord


def plot_training_curves(
    history: Sequence[EpochRecord],
    path: Path,
    reference: dict[str, float] | None = None,
    title: str = "",
) -> None:
    """Loss (train/val) and Hit@10/Hit@20/MRR@20 per epoch; ``reference`` lines (e.g. oracle);
    ``title`` names the run."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [r.epoch for r in history]
    fig, (ax_loss, ax_rank) = plt.subplots(1, 2, figsize=(11, 4.2))
    ax_loss.plot(epochs, [r.train_loss for r in history], marker="o", label="train loss")
    ax_loss.plot(epochs, [r.val_loss for r in history], marker="o", label="validation loss")
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("cross-entropy")
    ax_loss.legend()
    ax_loss.grid(alpha=0.3)
    for key, label in (("hit_at_10", "Hit@10"), ("hit_at_20", "Hit@20"), ("mrr_at_20", "MRR@20")):
        ax_rank.plot(epochs, [getattr(r, key) for r in history], marker="o", label=label)
    for name, value in (reference or {}).items():
        ax_rank.axhline(value, linestyle="--", linewidth=1, color="grey")
        ax_rank.annotate(name, (epochs[0], value), textcoords="offset points", xytext=(2, 3))
    ax_rank.set_xlabel("epoch")
    ax_rank.set_ylabel("validation metric")
    ax_rank.legend()
    ax_rank.grid(alpha=0.3)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
