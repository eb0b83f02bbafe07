"""Synthetic sessions, draw for draw identical to the seed's ``generate_realistic_sessions``.

The seed draws from a legacy ``numpy.random.RandomState`` in a fixed order; we make the same
calls in the same order, so a seed yields the very same sessions. The per-click item draw is
the hot loop: ``RandomState.choice(a, p=p)`` computes ``cdf = p.cumsum(); cdf /= cdf[-1]`` and
consumes exactly one ``random_sample()``, so we precompute each category's cdf once and do the
same searchsorted ourselves (same floats, same single draw), which is about 10x faster.

Besides the sessions we return what the seed keeps hidden (behaviour, preferred categories,
the category of every click), read off the same stream without drawing anything extra.

``GeneratorParams.mode`` picks the process: ``seed`` (the default, the seed's sessions bit
for bit) or one of the modes of ``generator_modes.py`` (``series``, ``anchor``), which draw
on the same catalog and add a signal that category popularity cannot read.
``GeneratorParams.scenario`` (``scenarios.py``) changes the process at a moment of the
stream (``none``, the default, changes nothing).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from streamrec.config import GENERATORS
from streamrec.contract.events import BEHAVIORS
from streamrec.model.data.generator_modes import (
    FROM_SEED_PROCESS,
    ModeParams,
    ModeProcess,
    ModeTables,
)
from streamrec.model.data.scenarios import (
    BEHAVIOR_PROBS,
    DRIFT_AT,
    Phase,
    build_phases,
    drift_user,
    phase_tables,
)

__all__ = ["BEHAVIOR_PROBS", "GeneratedData", "GeneratorParams", "generate_sessions"]
# Probability of re-drawing the category after each click, per behaviour.
SWITCH_PROB = {"explorer": 0.40, "deep_dive": 0.15, "comparison": 0.50}
ZIPF_EXPONENT = 0.8
MIN_SESSION_LEN = 3


@dataclass(frozen=True)
class GeneratorParams:
    """The seed's generator parameters (its defaults)."""

    n_users: int = 20_000
    n_items: int = 5_000
    n_categories: int = 25
    seed: int = 42
    mode: str = "seed"  # one of GENERATORS
    mode_params: ModeParams = field(default_factory=ModeParams)
    scenario: str = "none"  # one of SCENARIOS (streamrec.config)
    drift_at: float = DRIFT_AT  # the moment: share of the users generated before it


@dataclass
class GeneratedData:
    """Sessions plus the hidden truth the generator used to make them.

    ``sessions[i]`` is a list of 0-based item ids; ``behaviors[i]`` its behaviour label;
    ``preferred_categories[i]`` the user's preferred categories; ``click_categories[i][t]``
    the category the t-th click was drawn from. ``item_category[item]`` maps items to
    categories and ``item_popularity[item]`` is the within-category Zipf probability.

    The modes' hidden truth: ``tables`` (successors, sub-topics), ``click_sources[i][t]``
    (what drew the t-th click: ``generator_modes.FROM_*``) and ``session_subtopics[i]`` (the
    anchor's sub-topic, -1 outside ``anchor``). The oracle reads all it needs from here.

    The drift scenario's truth: ``phases`` (the process before and after the moment; one
    under ``none``), ``phase_tables[k]`` (the mode's tables as live in phase ``k``) and
    ``session_phase[i]`` (the phase that drew session ``i``). ``item_popularity`` stays the
    seed's Zipf popularity over the full catalog; ``phases[k].popularity`` is the one drawn.
    """

    params: GeneratorParams
    sessions: list[list[int]]
    behaviors: list[str]
    preferred_categories: list[list[int]]
    click_categories: list[list[int]]
    item_category: np.ndarray
    item_popularity: np.ndarray
    category_items: list[np.ndarray]
    tables: ModeTables = field(default_factory=ModeTables)
    click_sources: list[list[int]] = field(default_factory=list)
    session_subtopics: list[int] = field(default_factory=list)
    phases: list[Phase] = field(default_factory=list)
    phase_tables: list[ModeTables] = field(default_factory=list)
    session_phase: list[int] = field(default_factory=list)

    @property
    def mode(self) -> str:
        """The generator mode that drew the sessions."""
        return self.params.mode

    @property
    def scenario(self) -> str:
        """The drift scenario (``none`` without drift)."""
        return self.params.scenario

    @property
    def first_drifted(self) -> int:
        """Index of the first session drawn after the moment (``len(sessions)`` if none)."""
        return next((i for i, k in enumerate(self.session_phase) if k > 0), len(self.sessions))

    @property
    def n_items(self) -> int:
        """Catalog size."""
        return self.params.n_items

    @property
    def n_categories(self) -> int:
        """Number of categories."""
        return self.params.n_categories


def _category_layout(
    rng: np.random.RandomState, n_items: int, n_categories: int
) -> tuple[list[np.ndarray], np.ndarray]:
    """Uneven category sizes from a Dirichlet draw; items are numbered category by category."""
    sizes = rng.dirichlet(np.ones(n_categories) * 2.0) * n_items
    sizes = np.round(sizes).astype(int)
    sizes[-1] = n_items - sizes[:-1].sum()
    category_items: list[np.ndarray] = []
    item_category = np.zeros(n_items, dtype=np.int64)
    start = 0
    for cat in range(n_categories):
        items = np.arange(start, start + sizes[cat], dtype=np.int64)
        category_items.append(items)
        item_category[items] = cat
        start += sizes[cat]
    return category_items, item_category


def _zipf_popularity(category_items: list[np.ndarray], n_items: int) -> np.ndarray:
    """Within-category Zipf-like popularity: the k-th item of a category gets weight 1/k^0.8."""
    popularity = np.zeros(n_items)
    for items in category_items:
        if len(items) > 0:
            probs = 1.0 / np.arange(1, len(items) + 1, dtype=float) ** ZIPF_EXPONENT
            probs /= probs.sum()
            popularity[items] = probs
    return popularity


def generate_sessions(params: GeneratorParams | None = None) -> GeneratedData:
    """Generate sessions exactly as the seed does, with the hidden truth alongside.

    Sessions shorter than 3 clicks are dropped (as in the seed), together with their labels.
    """
    params = params or GeneratorParams()
    if params.n_users < 0 or params.n_items < 1 or params.n_categories < 6:
        raise ValueError("need n_users >= 0, n_items >= 1 and n_categories >= 6")
    if params.mode not in GENERATORS:
        raise ValueError(f"generator mode must be one of {', '.join(GENERATORS)}: {params.mode!r}")
    rng = np.random.RandomState(params.seed)
    category_items, item_category = _category_layout(rng, params.n_items, params.n_categories)
    popularity = _zipf_popularity(category_items, params.n_items)
    phases = build_phases(params.scenario, category_items, popularity, params.seed)
    moment = drift_user(params.n_users, params.scenario, params.drift_at)
    if params.mode != "seed":
        full = Phase(live=np.ones(params.n_items, dtype=bool), popularity=popularity)
        process = ModeProcess(  # tables over the full catalog; set_phase picks the live part
            params.mode, params.mode_params, category_items,
            full.category_cdfs(category_items), item_category, params.seed,
        )  # fmt: skip
        return _mode_sessions(
            params, rng, process, category_items, item_category, popularity, phases
        )

    sessions: list[list[int]] = []
    behaviors: list[str] = []
    preferred: list[list[int]] = []
    click_cats: list[list[int]] = []
    session_phase: list[int] = []
    behavior_names = list(BEHAVIORS)
    for user in range(params.n_users):
        phase = int(user >= moment)
        if user in (0, moment):  # the live catalog and popularity (same floats as the seed's)
            live_items = phases[phase].category_items(category_items)
            category_cdfs = phases[phase].category_cdfs(category_items)
            behavior_probs = list(phases[phase].behavior_probs)
        behavior = str(rng.choice(behavior_names, p=behavior_probs))
        session_len = rng.randint(5, 35)
        n_preferred = rng.randint(2, 6)
        preferred_cats = rng.choice(params.n_categories, size=n_preferred, replace=False)
        current_cat = int(rng.choice(preferred_cats))
        switch_prob = SWITCH_PROB[behavior]

        session: list[int] = []
        cats: list[int] = []
        for _step in range(session_len):
            items = live_items[current_cat]
            if len(items) == 0:
                continue  # the seed skips without a transition draw
            idx = int(category_cdfs[current_cat].searchsorted(rng.random_sample(), side="right"))
            session.append(int(items[idx]))
            cats.append(current_cat)
            if rng.random() < switch_prob:
                if behavior == "explorer":
                    current_cat = int(rng.choice(params.n_categories))
                else:
                    current_cat = int(rng.choice(preferred_cats))

        if len(session) >= MIN_SESSION_LEN:
            sessions.append(session)
            behaviors.append(behavior)
            preferred.append([int(c) for c in preferred_cats])
            click_cats.append(cats)
            session_phase.append(phase)

    return GeneratedData(
        params=params,
        sessions=sessions,
        behaviors=behaviors,
        preferred_categories=preferred,
        click_categories=click_cats,
        item_category=item_category,
        item_popularity=popularity,
        category_items=category_items,
        click_sources=[[FROM_SEED_PROCESS] * len(s) for s in sessions],
        session_subtopics=[-1] * len(sessions),
        phases=phases,
        phase_tables=[ModeTables() for _ in phases],
        session_phase=session_phase,
    )


def _mode_sessions(
    params: GeneratorParams,
    rng: np.random.RandomState,
    process: ModeProcess,
    category_items: list[np.ndarray],
    item_category: np.ndarray,
    popularity: np.ndarray,
    phases: list[Phase],
) -> GeneratedData:
    """Sessions of a ``series`` or ``anchor`` mode: each user's behaviour, length and
    preferred categories drawn as the seed draws them, the clicks by ``process`` (switched
    to the second phase's items and tables at the moment)."""
    data = GeneratedData(
        params=params,
        sessions=[],
        behaviors=[],
        preferred_categories=[],
        click_categories=[],
        item_category=item_category,
        item_popularity=popularity,
        category_items=category_items,
        tables=process.tables,
        phases=phases,
        phase_tables=[phase_tables(process.tables, phase.live) for phase in phases],
    )
    behavior_names = list(BEHAVIORS)
    all_categories = np.arange(params.n_categories)
    moment = drift_user(params.n_users, params.scenario, params.drift_at)
    for user in range(params.n_users):
        phase = int(user >= moment)
        if user in (0, moment):
            live = phases[phase]
            process.set_phase(
                live.category_items(category_items),
                live.category_cdfs(category_items),
                data.phase_tables[phase],
            )
        behavior = str(rng.choice(behavior_names, p=list(live.behavior_probs)))
        session_len = rng.randint(5, 35)
        preferred_cats = rng.choice(params.n_categories, size=rng.randint(2, 6), replace=False)
        start = int(rng.choice(preferred_cats))
        targets = all_categories if behavior == "explorer" else preferred_cats
        drawn = process.draw(rng, session_len, start, SWITCH_PROB[behavior], targets)
        data.sessions.append(drawn.items)
        data.behaviors.append(behavior)
        data.preferred_categories.append([int(c) for c in preferred_cats])
        data.click_categories.append(drawn.categories)
        data.click_sources.append(drawn.sources)
        subtopic = process.tables.item_subtopic
        data.session_subtopics.append(-1 if subtopic is None else int(subtopic[drawn.items[0]]))
        data.session_phase.append(phase)
    return data
