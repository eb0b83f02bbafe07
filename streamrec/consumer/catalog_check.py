"""A warning when the served model's catalog does not match the stream.

A click on an item outside the catalog is valid: it advances its session and is counted as
``unknown_item``, unscored. A few are normal (new items); nearly all of them means the model
was trained on other data than the stream carries (a generated-data model serving a replayed
click log, or the other way round), and every figure it reports would be empty.
"""

from __future__ import annotations

import logging

log = logging.getLogger("streamrec.consumer")
FIRST_EVENTS = 1000  # the events the check looks at, from the consumer's start
MOSTLY_UNKNOWN = 0.9  # the share of them outside the catalog that is warned about


class CatalogCheck:
    """Counts the first ``first_events`` valid events, and how many click items outside the
    catalog; warns once, on the ``streamrec.consumer`` logger, when more than ``threshold`` of
    them do. Costs nothing once they are counted."""

    def __init__(
        self,
        model_version: str,
        catalog_size: int,
        first_events: int = FIRST_EVENTS,
        threshold: float = MOSTLY_UNKNOWN,
    ) -> None:
        self.model_version = model_version
        self.catalog_size = catalog_size
        self.first_events = first_events
        self.threshold = threshold
        self.seen = 0
        self.unknown = 0
        self.done = False
        self.warned = False

    @property
    def remaining(self) -> int:
        """How many more events the check looks at."""
        return 0 if self.done else max(self.first_events - self.seen, 0)

    def observe(self, events: int, unknown: int) -> None:
        """Count a batch's valid events, ``unknown`` of them on items outside the catalog."""
        if self.done:
            return
        self.seen += events
        self.unknown += unknown
        if self.seen < self.first_events:
            return
        self.done = True
        if self.unknown > self.threshold * self.seen:
            self.warned = True
            log.warning("%s", self.message())

    def message(self) -> str:
        """The warning: what was seen, what it means, what to do."""
        share = self.unknown / max(self.seen, 1)
        return (
            f"{self.unknown:,} of the first {self.seen:,} events ({share:.0%}) click items "
            f"outside the catalog of model {self.model_version} ({self.catalog_size:,} items): "
            "the model was trained on other data than this stream carries, so they are "
            "counted as unknown_item and not scored; serve a model trained on the stream's "
            "source (e.g. `streamrec train --from-csv LOG` for a replayed click log)"
        )
