"""Versions in and out of the version directory, for the learner: version 0 at the first
start, version k after each boundary, and the resume point after a restart.

Exactness across a SIGKILL rests on one rule: a version carries, with the learner's state after
it, the first offset of every partition that it did not learn. The learner resumes from the
newest valid version by restoring that state and seeking to those offsets, so every click of a
partition before its offset is in the state exactly once, and every click after it is read
again and learned once, in a later version. Kafka's committed offsets are written after each
version for monitoring only; they are never what the learner resumes from.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from streamrec.learner.state import load_state, save_state
from streamrec.model.checkpoint import CheckpointMeta, save_checkpoint
from streamrec.model.versions import (
    MODEL_FILE,
    STATE_FILE,
    Manifest,
    Schedule,
    latest_valid,
    publish,
    read_schedule,
    remove_leftovers,
)
from streamrec.model.zoo.updates import Catalog, StreamLearner, UpdateReport

log = logging.getLogger("streamrec.learner")


class LearnerError(RuntimeError):
    """The learner cannot start or go on; one readable line."""


@dataclass(frozen=True)
class Resume:
    """Where the learner (re)starts: the last version published, per partition the first
    offset it did not learn and the event-time mark there, clicks learned so far."""

    version: int
    offsets: dict[int, int]
    marks: dict[int, float]
    clicks_total: int


class VersionPublisher:
    """Writes the learner's versions into ``directory``."""

    def __init__(
        self,
        directory: Path,
        base_meta: CheckpointMeta,
        refresh_s: float,
        budget_s: float | None = None,
    ) -> None:
        self.directory = directory
        self.base_meta = base_meta
        self.refresh_s = refresh_s
        self.budget_s = budget_s

    def start(self, learner: StreamLearner) -> Resume:
        """Publish version 0 into an empty directory, or restore ``learner`` from the newest
        valid version; half-written leftovers are removed first."""
        self.directory.mkdir(parents=True, exist_ok=True)
        if removed := remove_leftovers(self.directory):
            log.warning("removed %d half-written version(s) left by a killed learner", removed)
        found = latest_valid(
            self.directory,
            lambda path, exc: log.error("version %s is not valid, skipped: %s", path.name, exc),
        )
        if found is None:
            self._publish_base(learner)
            return Resume(0, {}, {}, 0)
        manifest, path = found
        self._check_same_run(manifest)
        schedule = read_schedule(self.directory)
        if manifest.version > 0 and (schedule is None or schedule.refresh_s != self.refresh_s):
            raise LearnerError(f"{self.directory}: version {manifest.version} has no schedule")
        state, marks = load_state(path / STATE_FILE)
        learner.restore(state)
        offsets = {int(p): int(o) for p, o in manifest.offsets.items()}
        log.info(
            "resuming after version %d (%d clicks learned), offsets %s",
            manifest.version,
            manifest.clicks_total,
            offsets,
        )
        return Resume(manifest.version, offsets, marks, manifest.clicks_total)

    def _check_same_run(self, manifest: Manifest) -> None:
        base = self.base_meta.model_version
        if manifest.base_model != base:
            raise LearnerError(
                f"{self.directory} holds versions of {manifest.base_model}, not of {base} "
                "(--model); use another --out-dir"
            )
        if manifest.refresh_s != self.refresh_s:
            raise LearnerError(
                f"{self.directory} holds versions refreshed every {manifest.refresh_s:g}s, not "
                f"{self.refresh_s:g}s (--refresh); use another --out-dir"
            )

    def _manifest(self, version: int, **facts: Any) -> Manifest:
        meta = self.base_meta
        return Manifest(
            version=version,
            refresh_s=self.refresh_s,
            base_model=meta.model_version,
            architecture=meta.architecture,
            max_len=meta.max_len,
            published_at=time.time(),
            **facts,
        )

    def _publish_base(self, learner: StreamLearner) -> None:
        """Version 0: the learner's model before any click of the stream (what offline
        prequential evaluation serves as version 0; for a count model, the counts of its
        training history)."""
        model, report = learner.publish(self.budget_s)
        self.publish(0, model, learner.catalog, report, learner.state(), None, {}, {}, 0)
        log.info(
            "published version 0: %d items, before any click of the stream", len(learner.catalog)
        )

    def publish(
        self,
        version: int,
        model: Any,
        catalog: Catalog,
        report: UpdateReport,
        learner_state: dict[str, Any],
        schedule: Schedule | None,
        offsets: dict[int, int],
        marks: dict[int, float],
        clicks_total: int,
    ) -> Manifest:
        """Write version ``version``: ``model``, the learner's ``SessionModel`` snapshot whose
        dense ids are ``catalog``'s, and the state to resume from."""
        base = self.base_meta
        if not len(catalog) == model.n_items == report.catalog_size:
            raise LearnerError(
                f"version {version}: the model has {model.n_items} items, its catalog "
                f"{len(catalog)}, the report {report.catalog_size}"
            )
        item_ids = catalog.to_list()
        meta = CheckpointMeta(
            architecture=model.architecture,
            config=model.config(),
            n_items=model.n_items,
            split=base.split,
            seed=base.seed,
            source=base.source,
            max_len=base.max_len,
            metrics={},
            recipe={**base.recipe, "learned": {"version": version, "clicks": clicks_total}},
            item_ids=item_ids,
        )
        if (schedule is None) != (version == 0):
            raise LearnerError("version 0 has no schedule yet; every later version has one")
        manifest = self._manifest(
            version,
            valid_from=schedule.boundary(version) if schedule is not None else None,
            t0=schedule.t0 if schedule is not None else None,
            catalog_size=report.catalog_size, clicks_learned=report.clicks_learned,
            clicks_total=clicks_total, update_seconds=report.seconds, kind=report.kind,
            new_items=report.new_items, offsets={str(p): o for p, o in offsets.items()},
        )  # fmt: skip
        publish(
            self.directory,
            manifest,
            {
                MODEL_FILE: lambda p: save_checkpoint(p, model.state(), meta),
                STATE_FILE: lambda p: save_state(p, learner_state, marks),
            },
        )
        return manifest
