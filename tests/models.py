"""Tiny trained models for tests (seconds of training, real checkpoints)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from streamrec.config import Settings
from streamrec.model.training.workflow import train_model


@dataclass(frozen=True)
class TinyModel:
    """A checkpoint and the settings it was trained with."""

    path: Path
    settings: Settings


def train_tiny_model(
    path: Path, csv_path: str = "", max_train_sessions: int = 600, seed: int = 42, **log: object
) -> TinyModel:
    """One epoch on a few hundred training sessions of the default session split (``log``:
    other settings, e.g. a click log's ``log_format`` and ``split``, or ``users`` and
    ``scenario`` of generated data)."""
    settings = Settings(
        epochs=1, threads=1, csv_path=csv_path, max_train_sessions=max_train_sessions,
        model_path=path, learning_rate=3e-3, seed=seed,
    ).with_overrides(log)  # fmt: skip
    train_model(settings, path, show_progress=False)
    return TinyModel(path, settings)
