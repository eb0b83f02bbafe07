"""Torch process settings: device choice and a deliberate thread count."""

from __future__ import annotations

import os

import torch

from streamrec.config import ConfigError


def configure_torch(threads: int = 0, device: str = "auto") -> torch.device:
    """Set torch's intra-op threads and resolve ``device`` (auto|cpu|cuda).

    ``threads == 0`` means one per core, capped at 2: more than that oversubscribes the small
    machines this runs on when other processes share the cores.
    """
    n = threads or min(os.cpu_count() or 1, 2)
    torch.set_num_threads(n)
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device 'cuda' requested but torch sees no CUDA device")
    if device not in ("cpu", "cuda"):
        raise ConfigError(f"device must be auto, cpu or cuda, got {device!r}")
    return torch.device(device)
