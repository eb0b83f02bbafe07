"""The ``series`` and ``anchor`` generator modes: the seed's process plus a signal beyond it.

On the seed's process (``generator.py``) the next item depends only on the session's
category chain and on within-category popularity, so category popularity is nearly the
oracle and the data cannot tell models apart. These modes keep that process as the
fall-back and mix in, at every click after the first, one more way to choose the next item:

``series`` (item-to-item signal: a Markov chain and an RNN can learn it, category popularity
cannot). Each category's items form one fixed random cycle, so every item has a successor in
its own category. With probability ``FOLLOW_PROB`` the next click is the successor of the
last item (the category stays); otherwise the seed's process draws it (category switch with
the behaviour's probability, then an item by within-category popularity).

``anchor`` (long-range signal: attention over the whole prefix can use it, a last-item model
cannot). Each category's items are split at random into sub-topics of about
``SUBTOPIC_SIZE`` items. The session's first click (drawn by the seed's process) fixes the
session's sub-topic: the one that holds it. With probability ``ANCHOR_PROB`` each later click
is an item of that sub-topic, uniformly (and the session's current category becomes the
sub-topic's); otherwise the seed's process draws it.

So in every mode a click's category is its item's category, and the exact next-item
distribution given the hidden state is
``w * mode_part + (1 - w) * seed_part``, where ``seed_part`` is the seed's category chain
times popularity, and ``mode_part`` the successor of the last item (``series``, w =
``FOLLOW_PROB``) or the uniform distribution over the anchor's sub-topic (``anchor``, w =
``ANCHOR_PROB``). The oracle (``evaluation/oracle.py``) computes it from what
``GeneratedData`` keeps, never from this module's constants.

Both modes use the seed's catalog (same category layout and popularity for the same seed);
their own tables and per-click choices come from a second generator seeded from the seed and
the mode, so a (seed, mode) pair always yields the same sessions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from streamrec.model.data.parameters import ANCHOR_PROB, FOLLOW_PROB, SUBTOPIC_SIZE

# where each click came from (GeneratedData.click_sources)
FROM_SEED_PROCESS, FROM_SUCCESSOR, FROM_ANCHOR = 0, 1, 2
_MODE_STREAM = {"series": 1, "anchor": 2}  # salts the modes' own random generator


@dataclass(frozen=True)
class ModeParams:
    """The probabilities and sizes of the ``series`` and ``anchor`` modes."""

    follow_prob: float = FOLLOW_PROB
    anchor_prob: float = ANCHOR_PROB
    subtopic_size: int = SUBTOPIC_SIZE

    def mix_weight(self, mode: str) -> float:
        """The weight of the mode's own signal at each click after the first (0 for seed)."""
        return {"series": self.follow_prob, "anchor": self.anchor_prob}.get(mode, 0.0)


@dataclass
class ModeTables:
    """The fixed item tables a mode draws from.

    ``successor[item]``: the next item on its category's cycle (``series``; else None).
    ``item_subtopic[item]``: its sub-topic, and ``subtopic_items[k]`` the items of sub-topic
    ``k`` (``anchor``; else None and empty).
    """

    successor: np.ndarray | None = None
    item_subtopic: np.ndarray | None = None
    subtopic_items: list[np.ndarray] | None = None


def build_tables(
    mode: str, params: ModeParams, category_items: list[np.ndarray], rng: np.random.Generator
) -> ModeTables:
    """Draw the mode's tables over the catalog's categories."""
    n_items = int(sum(len(items) for items in category_items))
    if mode == "series":
        successor = np.arange(n_items, dtype=np.int64)
        for items in category_items:
            cycle = rng.permutation(items)
            successor[cycle] = np.roll(cycle, -1)
        return ModeTables(successor=successor)
    if mode == "anchor":
        item_subtopic = np.zeros(n_items, dtype=np.int64)
        subtopics: list[np.ndarray] = []
        for items in category_items:
            n_parts = max(1, round(len(items) / params.subtopic_size))
            for part in np.array_split(rng.permutation(items), n_parts):
                item_subtopic[part] = len(subtopics)
                subtopics.append(np.sort(part))
        return ModeTables(item_subtopic=item_subtopic, subtopic_items=subtopics)
    return ModeTables()


@dataclass
class DrawnSession:
    """One session of a mode: its items, their categories and where each came from."""

    items: list[int]
    categories: list[int]
    sources: list[int]


class ModeProcess:
    """Draws sessions of ``series`` or ``anchor`` around the seed's per-click draws.

    ``rng`` is the seed's ``RandomState`` (its category and popularity draws, same floats as
    the seed); the mode's own choices come from ``mode_rng``.
    """

    def __init__(
        self,
        mode: str,
        params: ModeParams,
        category_items: list[np.ndarray],
        category_cdfs: list[np.ndarray],
        item_category: np.ndarray,
        seed: int,
    ) -> None:
        if mode not in _MODE_STREAM:  # GENERATORS (streamrec.config) less "seed"
            raise ValueError(f"generator mode must be one of {', '.join(_MODE_STREAM)}: {mode!r}")
        if any(len(items) == 0 for items in category_items):
            raise ValueError(f"the {mode} generator needs every category to hold an item")
        self.mode = mode
        self.weight = params.mix_weight(mode)
        self.category_items = category_items
        self.category_cdfs = category_cdfs
        self.item_category = item_category
        self.mode_rng = np.random.default_rng((seed, _MODE_STREAM[mode]))
        self.tables = build_tables(mode, params, category_items, self.mode_rng)
        self.live_tables = self.tables

    def set_phase(
        self, category_items: list[np.ndarray], category_cdfs: list[np.ndarray], tables: ModeTables
    ) -> None:
        """Draw from here on from these items, cdfs and tables (a drift scenario's phase)."""
        self.category_items, self.category_cdfs, self.live_tables = (
            category_items, category_cdfs, tables,
        )  # fmt: skip

    def _popular_item(self, rng: np.random.RandomState, category: int) -> int:
        cdf = self.category_cdfs[category]
        return int(self.category_items[category][cdf.searchsorted(rng.random_sample(), "right")])

    def draw(
        self,
        rng: np.random.RandomState,
        session_len: int,
        category: int,
        switch_prob: float,
        switch_targets: np.ndarray,
    ) -> DrawnSession:
        """One session of ``session_len`` clicks starting in ``category``; a switch re-draws
        the category uniformly from ``switch_targets``."""
        coins = self.mode_rng.random(session_len)
        picks = self.mode_rng.random(session_len)
        first = self._popular_item(rng, category)
        drawn = DrawnSession([first], [category], [FROM_SEED_PROCESS])
        tables = self.live_tables
        anchor = (
            tables.subtopic_items[int(tables.item_subtopic[first])]
            if tables.subtopic_items is not None and tables.item_subtopic is not None
            else None
        )
        for step in range(1, session_len):
            if coins[step] < self.weight:
                if tables.successor is not None:
                    item = int(tables.successor[drawn.items[-1]])
                    source = FROM_SUCCESSOR
                else:
                    assert anchor is not None
                    item = int(anchor[int(picks[step] * len(anchor))])
                    source = FROM_ANCHOR
                category = int(self.item_category[item])
            else:
                if rng.random() < switch_prob:
                    category = int(rng.choice(switch_targets))
                item = self._popular_item(rng, category)
                source = FROM_SEED_PROCESS
            drawn.items.append(item)
            drawn.categories.append(category)
            drawn.sources.append(source)
        return drawn
