"""Drift scenarios on generated data: the generating process changes at a moment of the stream.

Users are generated in stream order; the user at index ``round(drift_at * n_users)`` and
every later one belong to the second *phase*, the earlier ones to the first. A ``Phase``
holds what the generator draws from while it is live, and ``GeneratedData`` records each
session's phase, so the oracle uses the process that drew the session:

- ``none``: one phase, the seed's process (sessions bit for bit as without scenarios).
- ``new-items``: ``NEW_ITEM_SHARE`` of each category's items (at least one item of each
  category stays) exist only in the second phase: before the moment they are never drawn
  (within-category popularity renormalised over the live items; a ``series`` successor skips
  to the next live item of its cycle, an ``anchor`` draw is uniform over the live items of
  the sub-topic); after it the full catalog of ``none`` is live.
- ``popularity-shift``: in the second phase each category's Zipf weights are re-assigned to
  its items by a seeded permutation.
- ``behaviour-mix``: in the second phase the explorer / deep-dive / comparison shares
  change from ``BEHAVIOR_PROBS`` to ``BEHAVIOR_PROBS_AFTER``.

The scenario's own draws come from a generator seeded from ``(seed, scenario)``; the seed's
``RandomState`` makes the same calls in the same order whatever the scenario, so under
``popularity-shift`` and ``behaviour-mix`` the sessions before the moment equal ``none``'s.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from streamrec.model.data.generator_modes import ModeTables
from streamrec.model.data.parameters import BEHAVIOR_PROBS_AFTER, NEW_ITEM_SHARE

BEHAVIOR_PROBS: tuple[float, ...] = (0.3, 0.5, 0.2)  # explorer, deep_dive, comparison
DRIFT_AT = 0.5  # default moment: share of the users (sessions) generated before the drift
_SCENARIO_STREAM = {"new-items": 11, "popularity-shift": 12, "behaviour-mix": 13}


@dataclass
class Phase:
    """The process live in one phase: which items exist (``live``), their within-category
    probability (``popularity``, 0 for items not live; sums to 1 over each category) and
    the behaviour shares (``behavior_probs``, in ``contract.events.BEHAVIORS`` order)."""

    live: np.ndarray
    popularity: np.ndarray
    behavior_probs: tuple[float, ...] = BEHAVIOR_PROBS

    def category_items(self, category_items: list[np.ndarray]) -> list[np.ndarray]:
        """Each category's live items, in catalog order."""
        return [items[self.live[items]] for items in category_items]

    def category_cdfs(self, category_items: list[np.ndarray]) -> list[np.ndarray]:
        """The cdf of each category's live items, the same floats ``RandomState.choice``
        computes for ``p = popularity / popularity.sum()``."""
        cdfs: list[np.ndarray] = []
        for items in self.category_items(category_items):
            probs = self.popularity[items]
            probs = probs / probs.sum() if len(items) else probs
            cdf = probs.cumsum()
            if len(items):
                cdf /= cdf[-1]
            cdfs.append(cdf)
        return cdfs


def drift_user(n_users: int, scenario: str, drift_at: float) -> int:
    """Index of the first user of the second phase (``n_users`` under ``none``)."""
    if scenario == "none":
        return n_users
    if scenario not in _SCENARIO_STREAM:
        raise ValueError(f"unknown drift scenario {scenario!r}")
    if not 0.0 < drift_at < 1.0:
        raise ValueError(f"drift_at must be > 0 and < 1, got {drift_at}")
    return round(drift_at * n_users)


def build_phases(
    scenario: str, category_items: list[np.ndarray], popularity: np.ndarray, seed: int
) -> list[Phase]:
    """The scenario's phases (one under ``none``, else before and after the moment)."""
    full = Phase(live=np.ones(len(popularity), dtype=bool), popularity=popularity)
    if scenario == "none":
        return [full]
    rng = np.random.default_rng((seed, _SCENARIO_STREAM[scenario]))
    if scenario == "new-items":
        live = np.ones(len(popularity), dtype=bool)
        for items in category_items:
            n_new = min(round(NEW_ITEM_SHARE * len(items)), max(len(items) - 1, 0))
            if n_new:
                live[rng.choice(items, size=n_new, replace=False)] = False
        before = popularity * live
        for items in category_items:
            if len(items):
                before[items] /= before[items].sum()
        return [Phase(live=live, popularity=before), full]
    if scenario == "popularity-shift":
        after = popularity.copy()
        for items in category_items:
            after[items] = popularity[items][rng.permutation(len(items))]
        return [full, replace(full, popularity=after)]
    return [full, replace(full, behavior_probs=BEHAVIOR_PROBS_AFTER)]


def phase_tables(tables: ModeTables, live: np.ndarray) -> ModeTables:
    """A mode's tables restricted to the live items: a successor skips to the next live item
    of its cycle, a sub-topic keeps its live items (``item_subtopic`` unchanged)."""
    if bool(live.all()):
        return tables
    successor = None
    if tables.successor is not None:
        successor = tables.successor.copy()
        for item in np.flatnonzero(live):
            nxt = int(tables.successor[item])
            while not live[nxt]:  # each category keeps a live item, so this ends
                nxt = int(tables.successor[nxt])
            successor[item] = nxt
    subtopics = (
        None
        if tables.subtopic_items is None
        else [items[live[items]] for items in tables.subtopic_items]
    )
    return ModeTables(
        successor=successor, item_subtopic=tables.item_subtopic, subtopic_items=subtopics
    )
