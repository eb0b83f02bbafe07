"""Following the learner's versions (``consume --follow DIR``): which version serves each
event, loading versions aside, the bounded wait, stale serves, versions that fail validation.

Each event is served by the version its event time calls for: the last boundary at or before
it (``model.versions.Schedule``). Versions are found by listing ``DIR`` (at most every
``scan_interval_s``) and loaded on a background thread (``BackgroundLoads``, the hot swap's
loader) while the loop goes on: the next version is usually loaded before an event needs it.

When a batch needs a version that is not loaded, the loop waits for it: at most ``wait_s`` per
batch, and only once per version. If it is still missing then (the learner is behind or
down), those events are served by the newest version before it and counted as *stale*
(``streamrec_stale_serves_total`` and the Redis totals' ``stale``); the version is not waited
for again, so a learner that falls behind slows a consumer by at most one wait per version,
never stalls it. A version that fails validation (manifest, checksums, a checkpoint that does
not load, a catalog that does not extend version 0's, another window length) is skipped and
counted (``streamrec_versions_invalid_total``); its events are served by the version before it,
stale. A version directory that is replaced (the learner republishing a refused version) is
validated again.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from streamrec.consumer.reload import BackgroundLoads, FileStamp, external_ids, one_line
from streamrec.consumer.serving import ServedModel
from streamrec.consumer.telemetry import ConsumerMetrics
from streamrec.model.versions import (
    MODEL_FILE,
    Manifest,
    Schedule,
    VersionError,
    listed,
    read_schedule,
    validate,
)

log = logging.getLogger("streamrec.consumer")
VersionLoader = Callable[[Path, str], ServedModel]  # (checkpoint path, label) -> model
KEEP_LOADED = 4  # versions kept in memory (version 0 always, the most recently used others)
POLL_SLEEP_S = 0.01


class FollowError(RuntimeError):
    """The version directory cannot be followed; one readable line."""


@dataclass(frozen=True)
class Version:
    """A loaded version: its manifest and its model."""

    manifest: Manifest
    model: ServedModel


@dataclass(frozen=True)
class BatchModels:
    """The versions serving a batch and, per event, which one (an index into ``models``),
    whether it is stale, and how old it is in event time (the event's time minus the
    version's boundary; None while the schedule is unknown)."""

    models: list[ServedModel]
    versions: list[int]
    per_event: list[int]
    stale: list[bool]
    staleness: list[float | None]


class VersionFollower:
    """The versions of one directory, loaded as events need them."""

    def __init__(
        self,
        directory: Path,
        load: VersionLoader,
        metrics: ConsumerMetrics,
        wait_s: float,
        keep: int = KEEP_LOADED,
        scan_interval_s: float = 0.05,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.directory = directory
        self.load = load
        self.metrics = metrics
        self.wait_s = wait_s
        self.keep = max(keep, 2)
        self.scan_interval_s = scan_interval_s
        self.clock = clock
        self.sleep = sleep
        self.loaded: OrderedDict[int, Version] = OrderedDict()
        self.refused: dict[int, FileStamp | None] = {}
        self.given_up: set[int] = set()
        self.schedule: Schedule | None = None
        self.listed: dict[int, Path] = {}
        self._schedule_given_up = False
        self._next_scan = float("-inf")
        self._loads = BackgroundLoads()
        self._pending: tuple[int, Future[Version]] | None = None

    @property
    def newest(self) -> Version:
        """The newest version loaded."""
        return self.loaded[max(self.loaded)]

    def start(self, timeout_s: float, should_stop: Callable[[], bool]) -> Version:
        """Wait (up to ``timeout_s``) for version 0 and load it."""
        deadline = self.clock() + timeout_s
        while not self._ensure(0, min(deadline, self.clock() + 0.5)):
            if should_stop() or self.clock() >= deadline:
                if 0 in self.refused:
                    raise FollowError(f"version 0 in {self.directory} is not valid (see the log)")
                raise FollowError(
                    f"no version 0 in {self.directory} after {timeout_s:g}s: start "
                    f"`streamrec learn --out-dir {self.directory}` first"
                )
        return self.loaded[0]

    def close(self) -> None:
        """Stop loading."""
        self._loads.close()

    def poll(self) -> None:
        """Between batches: take a finished load, list the directory when due, and start
        loading the next version after the newest loaded. Cheap when nothing changed."""
        if self._pending is not None and self._pending[1].done():
            self._finish()
        self._scan()
        if self._pending is None:
            newest = max(self.loaded, default=-1)
            later = [k for k in self.listed if k > newest and k not in self.refused]
            if later:
                self._submit(min(later))

    def choose(self, times: Sequence[float]) -> BatchModels:
        """The version serving each event of a batch (event times ``times``), waiting for
        missing ones as the module says."""
        self.poll()
        started = self.clock()
        deadline = started + self.wait_s
        waited = False
        if self.schedule is None and not self._schedule_given_up:
            waited = True
            while self.schedule is None and self.clock() < deadline:
                self.sleep(POLL_SLEEP_S)
                self._scan(force=True)
            if self.schedule is None:
                self._schedule_given_up = True
                log.warning("no schedule in %s yet: serving the newest version", self.directory)
        schedule = self.schedule
        newest = max(self.loaded)
        needed = [schedule.version_at(t) for t in times] if schedule else [newest + 1] * len(times)
        served: dict[int, int] = {}
        for k in sorted(set(needed)):
            if k in self.loaded:
                served[k] = k
                continue
            on_disk = k in self.listed and k not in self.refused  # loading: a local matter
            if on_disk or (k not in self.given_up and schedule is not None):
                waited = True
                if self._ensure(k, deadline):
                    served[k] = k
                    continue
                self.given_up.add(k)
                log.warning("version %d not ready after the wait: serving an older one", k)
            served[k] = self._fallback(k)
        if waited:
            result = "ready" if all(served[k] == k for k in served) else "timeout"
            self.metrics.version_waits.labels(result).inc()
            self.metrics.version_wait_seconds.observe(self.clock() - started)
        return self._batch_models(times, needed, served)

    def _batch_models(
        self, times: Sequence[float], needed: list[int], served: dict[int, int]
    ) -> BatchModels:
        versions = sorted(set(served.values()))
        index = {v: i for i, v in enumerate(versions)}
        per_event = [index[served[k]] for k in needed]
        stale = [served[k] < k for k in needed]
        schedule = self.schedule
        staleness: list[float | None] = []
        for t, k in zip(times, needed, strict=True):
            v = served[k]
            start = self.loaded[v].manifest.valid_from
            if start is None and schedule is not None:
                start = schedule.t0
            staleness.append(None if start is None else t - start)
        for v in versions:
            self.loaded.move_to_end(v)
        self._evict(set(versions))
        self.metrics.model_version.set(versions[-1])
        return BatchModels(
            [self.loaded[v].model for v in versions], versions, per_event, stale, staleness
        )

    def _fallback(self, k: int) -> int:
        """The newest usable version before ``k`` (loading it from disk if it was evicted)."""
        candidates = sorted(
            {v for v in (*self.loaded, *self.listed) if v < k and v not in self.refused},
            reverse=True,
        )
        for v in candidates:
            if v in self.loaded or self._ensure(v, self.clock() + self.wait_s):
                return v
        return 0  # version 0 is never evicted

    def _ensure(self, k: int, deadline: float) -> bool:
        """Have version ``k`` loaded by ``deadline`` if it can be (False: not published, or
        only a refused one, by then)."""
        while k not in self.loaded:
            if self._pending is not None:
                _, future = self._pending
                try:
                    future.result(timeout=max(deadline - self.clock(), 0.0))
                except FutureTimeout:
                    return False
                except Exception:  # reported by _finish
                    pass
                self._finish()
                continue
            self._scan(force=True)
            if k in self.listed and k not in self.refused:
                self._submit(k)
                continue
            # not published yet, or refused: the learner may (re)publish it before the deadline
            if self.clock() >= deadline:
                return False
            self.sleep(POLL_SLEEP_S)
        return True

    def _scan(self, force: bool = False) -> None:
        now = self.clock()
        if not force and now < self._next_scan:
            return
        self._next_scan = now + self.scan_interval_s
        self.listed = listed(self.directory)
        for k, stamp in list(self.refused.items()):
            if k in self.listed and FileStamp.of(self.listed[k]) != stamp:
                del self.refused[k]  # replaced: validate it again
        if self.schedule is None:
            try:
                self.schedule = read_schedule(self.directory)
            except VersionError as exc:
                log.error("%s", exc)

    def _submit(self, k: int) -> None:
        path = self.listed[k]
        self._pending = (k, self._loads.submit(lambda: self._read_version(path)))

    def _read_version(self, path: Path) -> Version:
        """Validate and load one version (on the background thread)."""
        manifest = validate(path)
        model = self.load(path / MODEL_FILE, manifest.label)
        if model.catalog.n_items != manifest.catalog_size:
            raise VersionError(f"{path}: the checkpoint's catalog is not the manifest's")
        base = self.loaded.get(0)
        if base is not None:
            if model.max_len != base.model.max_len:
                raise VersionError(f"{path}: window length {model.max_len}, not version 0's")
            old, new = base.model.catalog, model.catalog
            n = old.n_items
            if new.n_items < n or not np.array_equal(external_ids(new)[:n], external_ids(old)):
                raise VersionError(f"{path}: its catalog does not extend version 0's")
        return Version(manifest, model)

    def _finish(self) -> None:
        assert self._pending is not None
        k, future = self._pending
        self._pending = None
        try:
            version = future.result()
        except Exception as exc:  # any failure refuses the version
            path = self.listed.get(k)
            self.refused[k] = FileStamp.of(path) if path is not None else None
            self.metrics.versions_invalid.inc()
            log.error("version %d skipped: %s", k, one_line(exc))
            return
        self.loaded[k] = version
        log.info("version %d loaded (%d items)", k, version.manifest.catalog_size)

    def _evict(self, in_use: set[int]) -> None:
        for v in list(self.loaded):
            if len(self.loaded) <= self.keep:
                return
            if v != 0 and v not in in_use:
                del self.loaded[v]
