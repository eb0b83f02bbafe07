"""The version directory: where the online learner publishes model versions and consumers
that follow it read them (``streamrec learn --out-dir DIR``, ``streamrec consume --follow``).

Layout of ``DIR``::

    schedule.json        {"format", "format_version", "t0", "refresh_s"}: the boundaries
                         t0 + k * refresh_s, written once when t0 (the first click's event
                         time) is fixed
    v000000/             version 0: the trained checkpoint as it was given
    v000001/             version k: every click with an event time before boundary k learned
        model.pt         a StreamRec checkpoint (its ``item_ids`` are the version's catalog)
        learner.pt       the learner's state after this version (for the learner's restart)
        manifest.json    the ``Manifest`` below, with each file's size and SHA-256

Publishing is atomic: the files are written into a hidden ``.tmp-*`` directory beside the
versions, each fsynced, then the directory is renamed to its final name and ``DIR`` fsynced.
A reader sees a version completely or not at all; a half-written one is a ``.tmp-*`` leftover
that nothing reads (the learner removes them when it starts). A version is valid only when its
manifest parses, names the version its directory is called, and every file it lists has the
listed size and checksum (``validate``): a corrupt or truncated file is refused, never served.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import re
import shutil
import uuid
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

FORMAT = "streamrec-model-version"
SCHEDULE_FORMAT = "streamrec-version-schedule"
FORMAT_VERSION = 1
MODEL_FILE = "model.pt"
STATE_FILE = "learner.pt"
MANIFEST_FILE = "manifest.json"
SCHEDULE_FILE = "schedule.json"
TMP_PREFIX = ".tmp-"
_NAME = re.compile(r"^v(\d{6,})$")
_CHUNK = 1 << 20


class VersionError(ValueError):
    """A version (or the schedule) is missing, incomplete or corrupt; one readable line."""


def version_name(version: int) -> str:
    """The directory name of ``version`` (``v000007``)."""
    return f"v{version:06d}"


def boundary(t0: float, refresh_s: float, k: int) -> float:
    """Boundary ``k`` of the schedule (event-time seconds): ``t0 + k * refresh_s``. The one
    expression the learner, the consumers and the offline evaluator share, so all three cut
    the stream at the same float."""
    return t0 + k * refresh_s


def version_at(t: float, t0: float, refresh_s: float) -> int:
    """The version an event at time ``t`` calls for: the last boundary at or before ``t``
    (0 before the first boundary)."""
    if t < boundary(t0, refresh_s, 1):
        return 0
    k = max(math.floor((t - t0) / refresh_s), 1)
    while boundary(t0, refresh_s, k + 1) <= t:
        k += 1
    while k > 0 and boundary(t0, refresh_s, k) > t:
        k -= 1
    return k


def versions_at(times: np.ndarray, t0: float, refresh_s: float) -> np.ndarray:
    """``version_at`` of every time of ``times`` (one numpy pass; the same integers)."""
    t = np.asarray(times, dtype=np.float64)
    k = np.maximum(np.floor((t - t0) / refresh_s), 0).astype(np.int64)
    k = np.where(t0 + (k + 1) * refresh_s <= t, k + 1, k)
    k = np.where((k > 0) & (t0 + k * refresh_s > t), k - 1, k)
    return np.where(t < t0 + refresh_s, 0, k)


@dataclass(frozen=True)
class Schedule:
    """When versions are due: boundary k is ``t0 + k * refresh_s`` in event time."""

    t0: float
    refresh_s: float

    def boundary(self, k: int) -> float:
        """Boundary ``k``."""
        return boundary(self.t0, self.refresh_s, k)

    def version_at(self, t: float) -> int:
        """The version an event at ``t`` calls for."""
        return version_at(t, self.t0, self.refresh_s)


@dataclass(frozen=True)
class Manifest:
    """What a version is. ``valid_from``: its boundary (event time; None for version 0,
    which serves from the start); ``clicks_learned``: clicks learned since the previous
    version, ``clicks_total``: since version 0; ``offsets``: per partition of the clicks
    topic, the first offset NOT learned (the learner resumes there); ``files``: per file name,
    ``{"bytes", "sha256"}``."""

    version: int
    valid_from: float | None
    refresh_s: float
    catalog_size: int
    clicks_learned: int
    clicks_total: int
    update_seconds: float
    kind: str
    new_items: int
    base_model: str  # the model_version of the checkpoint version 0 is
    architecture: str
    max_len: int
    t0: float | None = None
    offsets: dict[str, int] = field(default_factory=dict)
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    published_at: float = 0.0  # wall-clock unix seconds

    @property
    def label(self) -> str:
        """The served model's label (recommendations' ``model_version``)."""
        return f"{self.base_model}+v{self.version}"

    def to_json(self) -> bytes:
        """The manifest file's bytes."""
        payload = {"format": FORMAT, "format_version": FORMAT_VERSION, **asdict(self)}
        return json.dumps(payload, indent=1, sort_keys=True).encode()

    @classmethod
    def from_json(cls, data: bytes, where: str) -> Manifest:
        """Parse and check a manifest (``VersionError`` naming the first problem)."""
        try:
            payload = json.loads(data)
        except (ValueError, UnicodeDecodeError):
            raise VersionError(f"{where}: the manifest is not JSON") from None
        if not isinstance(payload, dict) or payload.get("format") != FORMAT:
            raise VersionError(f"{where}: not a StreamRec version manifest")
        if payload.get("format_version") != FORMAT_VERSION:
            raise VersionError(
                f"{where}: manifest format {payload.get('format_version')!r}; this StreamRec "
                f"reads {FORMAT_VERSION}"
            )
        kinds: dict[str, tuple[type, ...]] = {
            "version": (int,), "refresh_s": (int, float), "catalog_size": (int,),
            "clicks_learned": (int,), "clicks_total": (int,), "update_seconds": (int, float),
            "kind": (str,), "new_items": (int,), "base_model": (str,), "architecture": (str,),
            "max_len": (int,), "offsets": (dict,), "files": (dict,),
            "published_at": (int, float),
        }  # fmt: skip
        for name, kind in kinds.items():
            value = payload.get(name)
            if not isinstance(value, kind) or isinstance(value, bool):
                raise VersionError(f"{where}: manifest field {name!r} is missing or wrong")
        for name in ("valid_from", "t0"):
            value = payload.get(name)
            if value is not None and (
                not isinstance(value, (int, float)) or not math.isfinite(value)
            ):
                raise VersionError(f"{where}: manifest field {name!r} is not a time")
        values: dict[str, Any] = {k: payload.get(k) for k in cls.__dataclass_fields__}
        manifest = cls(**values)
        if manifest.version < 0 or manifest.catalog_size < 1 or manifest.refresh_s <= 0:
            raise VersionError(f"{where}: manifest holds impossible values")
        if (manifest.version == 0) != (manifest.valid_from is None):
            raise VersionError(f"{where}: only version 0 has no valid_from")
        if manifest.version > 0 and manifest.t0 is not None:
            due = boundary(manifest.t0, manifest.refresh_s, manifest.version)
            if manifest.valid_from != due:
                raise VersionError(f"{where}: valid_from is not boundary {manifest.version}")
        return manifest


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync(path: Path, directory: bool = False) -> None:
    fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if directory else 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_file_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(f"{TMP_PREFIX}{path.name}-{uuid.uuid4().hex[:8]}")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(path)
    _fsync(path.parent, directory=True)


FileWriter = Callable[[Path], object]  # writes one file at the path it is given


def publish(
    directory: Path,
    manifest: Manifest,
    writers: Mapping[str, FileWriter],
    before_rename: Callable[[], None] | None = None,
) -> Path:
    """Write version ``manifest.version`` atomically into ``directory``: each of ``writers``
    writes its file into a temporary directory, the files are fsynced and checksummed, the
    manifest (with the checksums) is written last, then the directory is renamed into place.
    A directory already holding that version (one that failed validation) is moved aside
    first. ``before_rename`` runs just before the rename (tests kill the process there).
    Returns the version's path."""
    directory.mkdir(parents=True, exist_ok=True)
    name = version_name(manifest.version)
    tmp = directory / f"{TMP_PREFIX}{name}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    files: dict[str, dict[str, Any]] = {}
    for file_name, write in writers.items():
        path = tmp / file_name
        write(path)
        _fsync(path)
        files[file_name] = {"bytes": path.stat().st_size, "sha256": _sha256(path)}
    complete = Manifest(**{**asdict(manifest), "files": files})
    with open(tmp / MANIFEST_FILE, "wb") as f:
        f.write(complete.to_json())
        f.flush()
        os.fsync(f.fileno())
    _fsync(tmp, directory=True)
    final = directory / name
    if final.exists():  # a refused version of this number: keep it aside for inspection
        final.rename(directory / f".invalid-{name}-{uuid.uuid4().hex[:8]}")
    if before_rename is not None:
        before_rename()
    tmp.rename(final)
    _fsync(directory, directory=True)
    return final


def validate(path: Path) -> Manifest:
    """The manifest of the version at ``path`` once every check passed (``VersionError``
    otherwise): the manifest parses, names the version the directory is called, and every
    file it lists has its size and SHA-256."""
    match = _NAME.match(path.name)
    if match is None:
        raise VersionError(f"{path}: not a version directory name")
    try:
        data = (path / MANIFEST_FILE).read_bytes()
    except OSError:
        raise VersionError(f"{path}: no readable manifest") from None
    manifest = Manifest.from_json(data, str(path))
    if manifest.version != int(match.group(1)):
        raise VersionError(f"{path}: its manifest is version {manifest.version}")
    if MODEL_FILE not in manifest.files:
        raise VersionError(f"{path}: the manifest lists no {MODEL_FILE}")
    for file_name, facts in manifest.files.items():
        file = path / file_name
        try:
            size = file.stat().st_size
        except OSError:
            raise VersionError(f"{path}: {file_name} is missing") from None
        if size != facts.get("bytes") or _sha256(file) != facts.get("sha256"):
            raise VersionError(f"{path}: {file_name} does not match its checksum")
    return manifest


def listed(directory: Path) -> dict[int, Path]:
    """The version directories under ``directory`` by version number (unchecked)."""
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return {}
    out: dict[int, Path] = {}
    for entry in entries:
        match = _NAME.match(entry.name)
        if match is not None and entry.is_dir():
            out[int(match.group(1))] = Path(entry.path)
    return out


def latest_valid(
    directory: Path, on_invalid: Callable[[Path, VersionError], None] | None = None
) -> tuple[Manifest, Path] | None:
    """The newest version that validates, or None; each newer one that does not is reported
    to ``on_invalid``."""
    for _, path in sorted(listed(directory).items(), reverse=True):
        try:
            return validate(path), path
        except VersionError as exc:
            if on_invalid is not None:
                on_invalid(path, exc)
    return None


def write_schedule(directory: Path, schedule: Schedule) -> None:
    """Write ``schedule.json`` atomically (temporary file, fsync, rename, fsync ``directory``)."""
    directory.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": SCHEDULE_FORMAT,
        "format_version": FORMAT_VERSION,
        "t0": schedule.t0,
        "refresh_s": schedule.refresh_s,
    }
    _write_file_atomically(directory / SCHEDULE_FILE, json.dumps(payload).encode())


def read_schedule(directory: Path) -> Schedule | None:
    """The schedule, None while there is none (``VersionError`` when it is unreadable)."""
    path = directory / SCHEDULE_FILE
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise VersionError(f"{path}: {exc.strerror or exc}") from None
    try:
        payload = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise VersionError(f"{path}: not JSON") from None
    if not isinstance(payload, dict) or payload.get("format") != SCHEDULE_FORMAT:
        raise VersionError(f"{path}: not a StreamRec version schedule")
    t0, refresh = payload.get("t0"), payload.get("refresh_s")
    if not all(
        isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
        for v in (t0, refresh)
    ):
        raise VersionError(f"{path}: t0 and refresh_s must be numbers")
    assert isinstance(t0, (int, float)) and isinstance(refresh, (int, float))
    if refresh <= 0:
        raise VersionError(f"{path}: refresh_s must be positive")
    return Schedule(float(t0), float(refresh))


def remove_leftovers(directory: Path) -> int:
    """Remove half-written ``.tmp-*`` entries (a publisher killed mid-way); returns how many."""
    removed = 0
    with contextlib.suppress(OSError):
        for entry in os.scandir(directory):
            if entry.name.startswith(TMP_PREFIX):
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path, ignore_errors=True)
                else:
                    with contextlib.suppress(OSError):
                        os.unlink(entry.path)
                removed += 1
    return removed
