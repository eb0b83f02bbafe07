"""Training curves: loss and validation metrics per epoch for a trained network; the metrics
alone, and a title that says why, for a fitted count model with no loss."""

from __future__ import annotations

from pathlib import Path

from streamrec.model.training.plots import (
    LOSS_LABEL,
    NO_LOSS,
    plot_training_curves,
    training_curves_figure,
)
from streamrec.model.training.trainer import EpochRecord
from tests.unit.figures import bars, is_reference, legends_hide_no_data, series, suptitle

NAN = float("nan")


def epoch(n: int, train: float, val: float) -> EpochRecord:
    return EpochRecord(n, train, val, 0.1 * n, 0.15 * n, 0.05 * n, 1.0, 0.5)


def test_a_network_has_its_loss_and_metric_panels() -> None:
    history = [epoch(1, 7.0, 7.2), epoch(2, 6.0, 6.5), epoch(3, 5.5, 6.2)]
    fig = training_curves_figure(history, {"oracle Hit@10": 0.6}, "run.pt: lstm-attn on data")
    ax_loss, ax_rank = fig.axes
    assert suptitle(fig) == (
        "run.pt: lstm-attn on data training loss and validation metrics per epoch"
    )
    assert set(series(ax_loss)) == {"train loss", "validation loss"}
    assert ax_loss.get_ylabel() == LOSS_LABEL and "nats" in LOSS_LABEL
    assert {"Hit@10", "Hit@20", "MRR@20"} <= set(series(ax_rank))
    assert is_reference(series(ax_rank)["reference"])
    assert "fraction" in ax_rank.get_ylabel() and ax_rank.get_ylim()[0] == 0
    assert ax_loss.get_xlabel() == ax_rank.get_xlabel() == "epoch"
    assert legends_hide_no_data(fig)


def test_a_count_model_has_no_empty_loss_panel_and_its_title_says_why() -> None:
    fig = training_curves_figure([epoch(1, NAN, NAN)], heading="markov.pt: markov on data")
    (ax,) = fig.axes
    assert NO_LOSS in suptitle(fig) and "no training loss" in NO_LOSS
    # one pass: the three metrics as bars with their values, not one-point "curves"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["Hit@10", "Hit@20", "MRR@20"]
    assert [bar.get_height() for bar in bars(ax)] == [0.1, 0.15, 0.05]
    assert [t.get_text() for t in ax.texts] == ["0.1000", "0.1500", "0.0500"]
    assert not series(ax)


def test_a_loss_without_values_is_left_out(tmp_path: Path) -> None:
    history = [epoch(1, 7.0, NAN), epoch(2, 6.0, NAN)]  # no validation data
    fig = training_curves_figure(history)
    assert set(series(fig.axes[0])) == {"train loss"}
    plot_training_curves(history, tmp_path / "x.curves.png", title="x")
    assert (tmp_path / "x.curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
