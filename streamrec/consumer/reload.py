"""Hot model swap: notice a new checkpoint, load and check it aside, hand it over between batches.

A reload is asked for by SIGHUP, or found by watching the served ``--model`` path: its inode,
modification time and size are compared at most every ``model_watch_interval`` seconds.
``save_checkpoint`` writes a temporary file and renames it over the path, so a changed stamp
means a complete new file. The candidate is loaded in a background thread while the loop keeps
consuming, then checked against the model serving now. Redis keeps every session's window and
top-K as raw item ids (the events' own), so a model with another catalog takes them over as
they are: it maps each window through its own catalog (``Catalog.dense_window``). Two things
still refuse a candidate: another window length (Redis keeps each session's last ``max_len``
clicks, the served model's), and, beside a shadow or an A/B arm, a catalog that differs from
that second model's (``consumer.arms``: the primary's catalog decides which clicks join a
window, and both models score the same windows). The loop swaps in what
``poll`` returns between two batches (``consumer.loop``). A checkpoint that fails to load or is
refused is logged in one line and counted; the old model keeps serving, and the same file is not
tried again until it changes or SIGHUP asks.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np

from streamrec.consumer.arms import IncompatibleModels, check_compatible
from streamrec.consumer.serving import Catalog, ServedModel
from streamrec.consumer.telemetry import ConsumerMetrics

log = logging.getLogger("streamrec.consumer")
ModelLoader = Callable[[Path], ServedModel]
T = TypeVar("T")


@dataclass(frozen=True)
class FileStamp:
    """What tells one version of a file from the next: inode, modification time, size."""

    inode: int
    mtime_ns: int
    size: int

    @classmethod
    def of(cls, path: Path) -> FileStamp | None:
        """The file's stamp now, or None when it cannot be read (missing, mid-replacement)."""
        try:
            st = path.stat()
        except OSError:
            return None
        return cls(st.st_ino, st.st_mtime_ns, st.st_size)


def external_ids(catalog: Catalog) -> np.ndarray:
    """The raw item ids of a catalog's dense ids."""
    if catalog.external is not None:
        return catalog.external
    return np.arange(catalog.n_items, dtype=np.int64)


def incompatibility(
    served: ServedModel, candidate: ServedModel, second: ServedModel | None = None
) -> str | None:
    """Why ``candidate`` cannot take over the sessions ``served`` keeps in Redis (or be
    scored beside ``second``, a shadow or an A/B arm), or None."""
    if candidate.max_len != served.max_len:
        return (
            f"its window max_len is {candidate.max_len}, the served model's {served.max_len} "
            "(Redis keeps each session's last max_len clicks)"
        )
    if second is not None:
        try:
            check_compatible(candidate, second)
        except IncompatibleModels as exc:
            return f"{exc} (the shadow or A/B model is scored beside it: restart with both)"
    return None


class BackgroundLoads:
    """Loads run one at a time on a background thread while the poll loop goes on (hot swap
    here, followed versions in ``consumer.follow``)."""

    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="model-load")

    def submit(self, load: Callable[[], T]) -> Future[T]:
        """Start ``load`` after the loads already submitted."""
        return self._executor.submit(load)

    def close(self) -> None:
        """Stop: a load not started yet is cancelled, one in progress is not waited for."""
        self._executor.shutdown(wait=False, cancel_futures=True)


def one_line(exc: BaseException) -> str:
    """An exception as one short log line."""
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


class ModelReloader:
    """Watches for a new checkpoint and loads it in the background; ``poll`` hands it over.

    ``interval`` <= 0 turns watching off (``requested``, e.g. SIGHUP, still reloads).
    ``second``: the shadow or A/B model scored beside the primary, which stays.
    """

    def __init__(
        self,
        path: Path,
        load: ModelLoader,
        served_stamp: FileStamp | None,
        metrics: ConsumerMetrics,
        interval: float,
        requested: Callable[[], bool] = lambda: False,
        clock: Callable[[], float] = time.monotonic,
        second: ServedModel | None = None,
    ) -> None:
        self.path = path
        self.second = second  # a shadow or A/B model the candidate must fit beside
        self.load = load
        self.metrics = metrics
        self.interval = interval
        self.requested = requested
        self.clock = clock
        self._seen = served_stamp  # the file version served, or last tried
        self._next_check = clock() + interval
        self._pending: Future[ServedModel] | None = None
        self._loads = BackgroundLoads()

    def poll(self, served: ServedModel) -> ServedModel | None:
        """Between batches: a loaded, checked model to swap in now, or None. Cheap: at most
        one ``stat`` every ``interval`` seconds while nothing is loading."""
        if self._pending is not None:
            if not self._pending.done():
                return None
            return self._finish(self._pending, served)
        trigger = self._trigger()
        if trigger:
            self._seen = FileStamp.of(self.path)
            log.info("loading %s (%s) while %s serves", self.path, trigger, served.model_version)
            path = self.path
            self._pending = self._loads.submit(lambda: self.load(path))
        return None

    def close(self) -> None:
        """Stop: a load not started yet is cancelled, one in progress is not waited for."""
        self._loads.close()

    def _trigger(self) -> str:
        """Why a reload starts now ('' if none)."""
        if self.requested():
            return "SIGHUP"
        if self.interval <= 0 or self.clock() < self._next_check:
            return ""
        self._next_check = self.clock() + self.interval
        stamp = FileStamp.of(self.path)
        if stamp is None or stamp == self._seen:
            return ""
        return "the file changed"

    def _finish(self, pending: Future[ServedModel], served: ServedModel) -> ServedModel | None:
        self._pending = None
        try:
            candidate = pending.result()
        except Exception as exc:  # any failure to load keeps the old model serving
            self._refuse(served, f"it does not load: {one_line(exc)}")
            return None
        reason = incompatibility(served, candidate, self.second)
        if reason is not None:
            self._refuse(served, reason)
            return None
        self.metrics.model_swaps.labels("ok").inc()
        return candidate

    def _refuse(self, served: ServedModel, reason: str) -> None:
        self.metrics.model_swaps.labels("failed").inc()
        log.error(
            "model reload from %s refused, still serving %s: %s",
            self.path,
            served.model_version,
            reason,
        )
