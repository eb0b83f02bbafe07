"""Checkpoints are data, not code: tensors plus plain metadata, loaded with ``weights_only=True``.

A checkpoint holds the model's architecture name, its hyper-parameters, its state (tensors
and plain values: network weights, or a count model's tables), the catalog size, how it was
trained (split, seed, data source, recipe), its final metrics, the package version and, for
click logs, the dense-id -> original-id catalog. Loading checks all of it before a model is
built (``model.zoo.load_model``). Format 1 files (before architectures were recorded) hold
the seed's LSTM and load as ``lstm-attn``.
"""

from __future__ import annotations

import hashlib
import io
import pickle
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from streamrec import __version__

FORMAT = "streamrec-checkpoint"
FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)
DIGEST_CHARS = 8


class CheckpointError(ValueError):
    """A checkpoint file is missing, unreadable, unsafe or inconsistent."""


@dataclass
class CheckpointMeta:
    """Everything about a model except its state."""

    architecture: str
    config: dict[str, Any]  # the architecture's hyper-parameters
    n_items: int
    split: str
    seed: int
    source: str
    max_len: int
    metrics: dict[str, Any] = field(default_factory=dict)
    recipe: dict[str, Any] = field(default_factory=dict)
    item_ids: list[int] | None = None
    version: str = __version__
    # first hex digits of the file's SHA-256, set when read: two checkpoints of one recipe and
    # seed (a quick model and the full one, a retrained model) get different versions
    digest: str = field(default="", compare=False)

    @property
    def model_version(self) -> str:
        """Short label for recommendations and metrics."""
        label = f"{self.architecture}-{self.split}-s{self.seed}-v{self.version}"
        return f"{label}-{self.digest}" if self.digest else label


def save_checkpoint(path: Path, state: dict[str, Any], meta: CheckpointMeta) -> None:
    """Write ``state`` (tensors and plain values) and ``meta`` atomically to ``path``."""
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "architecture": meta.architecture,
        "state": {k: v.detach().cpu() if isinstance(v, torch.Tensor) else v
                  for k, v in state.items()},
        "config": meta.config,
        "n_items": meta.n_items,
        "split": meta.split,
        "seed": meta.seed,
        "source": meta.source,
        "max_len": meta.max_len,
        "metrics": meta.metrics,
        "recipe": meta.recipe,
        "item_ids": meta.item_ids,
        "version": meta.version,
    }  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    tmp.replace(path)


def _require(payload: dict[str, Any], key: str, kind: type | tuple[type, ...]) -> Any:
    if key not in payload or not isinstance(payload[key], kind):
        raise CheckpointError(f"checkpoint field {key!r} is missing or has the wrong type")
    return payload[key]


def read_checkpoint(
    path: Path, expect_n_items: int | None = None
) -> tuple[dict[str, Any], CheckpointMeta]:
    """Load a checkpoint file safely and check its metadata; returns (state, meta).

    ``expect_n_items``: the catalog size of the run that will use it; a mismatch is refused.
    """
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}")
    try:
        # read once: the digest and the loaded state are of the same bytes even if the file
        # is replaced meanwhile (hot swap)
        data = path.read_bytes()
    except OSError as exc:
        raise CheckpointError(f"cannot read {path}: {exc.strerror or exc}") from None
    if not zipfile.is_zipfile(io.BytesIO(data)):  # torch.save writes a zip archive
        raise CheckpointError(
            f"{path} is not a StreamRec checkpoint (those are written by `streamrec train`)"
        )
    try:
        payload = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        # torch's own message advises weights_only=False, which would run the file's code
        raise CheckpointError(
            f"refusing to load {path}: it is not a StreamRec checkpoint (it holds objects "
            "other than tensors and plain data)"
        ) from None
    except (RuntimeError, EOFError, ValueError, OSError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(
            f"refusing to load {path}: not a readable StreamRec checkpoint ({first_line[:120]})"
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a StreamRec checkpoint (no StreamRec format tag)")
    version = payload.get("format_version")
    if version not in READABLE_VERSIONS:
        raise CheckpointError(f"{path} has checkpoint format {version!r}; this StreamRec reads 1-2")
    if version == 1:  # the seed's LSTM, before architectures were recorded
        payload = {**payload, "architecture": "lstm-attn", "state": payload.get("state_dict")}
    n_items = _require(payload, "n_items", int)
    if n_items < 1:
        raise CheckpointError(f"{path}: catalog size {n_items} must be >= 1")
    if expect_n_items is not None and n_items != expect_n_items:
        raise CheckpointError(
            f"{path} was trained on a catalog of {n_items} items, this run has {expect_n_items}"
        )
    item_ids = payload.get("item_ids")
    if item_ids is not None and (not isinstance(item_ids, list) or len(item_ids) != n_items):
        raise CheckpointError(f"{path}: item catalog does not match its catalog size")
    meta = CheckpointMeta(
        architecture=_require(payload, "architecture", str),
        config=_require(payload, "config", dict),
        n_items=n_items,
        split=_require(payload, "split", str),
        seed=_require(payload, "seed", int),
        source=_require(payload, "source", str),
        max_len=_require(payload, "max_len", int),
        metrics=_require(payload, "metrics", dict),
        recipe=_require(payload, "recipe", dict),
        item_ids=item_ids,
        version=_require(payload, "version", str),
        digest=hashlib.sha256(data).hexdigest()[:DIGEST_CHARS],
    )
    return _require(payload, "state", dict), meta
