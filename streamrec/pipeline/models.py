"""The model a pipeline run serves: the configured checkpoint, or a quick one trained now."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from streamrec.config import ConfigError, Settings

QUICK_MODEL_EPOCHS = 2
QUICK_MODEL_TRAIN_SESSIONS = 4000
QUICK_MODEL_LEARNING_RATE = 3e-3  # a quick model, not the recipe: learn faster from less
# Validating on all ~73,600 held-out examples every epoch took longer than the training
# itself on a loaded 2-core machine; a seeded sample is enough to report progress.
QUICK_MODEL_VALIDATION_SAMPLE = 5000


def quick_model_path(settings: Settings) -> Path:
    """Where the demo keeps the quick model it trains (reused by later runs): one per
    generated data set, since a model trained on other data would be served sessions it
    trained on (or never saw the items of). So one per generator mode (each mode's sessions
    follow their own process), per drift scenario and moment (a model trained without the
    drift has seen what comes after it), and per user count and seed when they are not the
    defaults (the same session ids hold other sessions, and the split falls elsewhere)."""
    name = "quick-model" if settings.generator == "seed" else f"quick-model-{settings.generator}"
    if settings.scenario != "none":
        name += f"-{settings.scenario}-{settings.drift_at:g}"
    defaults = Settings()
    if (settings.users, settings.seed) != (defaults.users, defaults.seed):
        name += f"-users{settings.users}-seed{settings.seed}"
    if settings.items != defaults.items:
        name += f"-items{settings.items}"
    return settings.artifacts / f"{name}.pt"


def ensure_model(settings: Settings, console: Console) -> tuple[Path, bool]:
    """(checkpoint to serve, whether it was trained just now).

    A model path given explicitly (flag or ``STREAMREC_MODEL_PATH``) must exist. Otherwise
    the default checkpoint is served when present, else the quick model (trained now when
    missing: a few minutes on a laptop).
    """
    if settings.model_path.is_file():
        return settings.model_path, False
    if "model_path" in settings.explicit:
        raise ConfigError(
            f"no checkpoint at {settings.model_path} (given with --model/STREAMREC_MODEL_PATH); "
            "train one with `streamrec train --out PATH`, or leave --model out to use the "
            "quick model"
        )
    quick = quick_model_path(settings)
    if quick.is_file():
        return quick, False
    from streamrec.model.training.workflow import train_model

    console.print(
        f"no checkpoint at {settings.model_path}: training a quick model "
        f"({QUICK_MODEL_EPOCHS} epochs on {QUICK_MODEL_TRAIN_SESSIONS:,} training sessions, "
        f"validated on {QUICK_MODEL_VALIDATION_SAMPLE:,} held-out examples) -> {quick}; "
        "`streamrec train` makes the full one"
    )
    quick_settings = settings.with_overrides(
        {
            "epochs": QUICK_MODEL_EPOCHS,
            "max_train_sessions": QUICK_MODEL_TRAIN_SESSIONS,
            "learning_rate": QUICK_MODEL_LEARNING_RATE,
            "validation_sample": QUICK_MODEL_VALIDATION_SAMPLE,
            "split": "session",
        }
    )
    train_model(quick_settings, quick, console=console)
    return quick, True
