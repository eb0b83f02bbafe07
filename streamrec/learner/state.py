"""The learner's state file in a version (``learner.pt``): data, not code.

It holds the ``StreamLearner``'s ``state()`` (numpy arrays, tensors and plain values) and the
event-time marks of the partitions at the version's offsets. numpy arrays are stored as
tensors with a tag, so the file loads with ``torch.load(weights_only=True)``: a version
directory shared with others cannot run code in the learner that restores it.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import torch

FORMAT = "streamrec-learner-state"
FORMAT_VERSION = 1
_ARRAY = "__ndarray__"


class StateError(ValueError):
    """A learner state file does not load; one readable line."""


def _pack(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            raise TypeError("a learner state may not hold object arrays")
        return {_ARRAY: torch.from_numpy(np.ascontiguousarray(value).copy())}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    if isinstance(value, dict):
        return {k: _pack(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        packed = [_pack(v) for v in value]
        return packed if isinstance(value, list) else tuple(packed)
    return value


def _unpack(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {_ARRAY} and isinstance(value[_ARRAY], torch.Tensor):
            return value[_ARRAY].numpy()
        return {k: _unpack(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unpack(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_unpack(v) for v in value)
    return value


def save_state(path: Path, learner_state: dict[str, Any], marks: dict[int, float]) -> None:
    """Write the learner's state and the partitions' marks to ``path``."""
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "learner": _pack(learner_state),
        "marks": {int(p): float(t) for p, t in marks.items()},
    }
    torch.save(payload, path)


def load_state(path: Path) -> tuple[dict[str, Any], dict[int, float]]:
    """The learner's state and the partitions' marks stored at ``path``."""
    try:
        payload = torch.load(io.BytesIO(path.read_bytes()), map_location="cpu", weights_only=True)
    except (OSError, pickle.UnpicklingError, RuntimeError, EOFError, ValueError) as exc:
        line = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise StateError(f"{path}: the learner state does not load ({line})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise StateError(f"{path}: not a StreamRec learner state")
    if payload.get("format_version") != FORMAT_VERSION:
        raise StateError(f"{path}: learner state format {payload.get('format_version')!r}")
    marks = payload.get("marks")
    learner = payload.get("learner")
    if not isinstance(marks, dict) or not isinstance(learner, dict):
        raise StateError(f"{path}: the learner state is incomplete")
    return _unpack(learner), {int(p): float(t) for p, t in marks.items()}
