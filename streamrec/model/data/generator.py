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

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from streamrec.config import GENERATORS, MAX_ITEMS, MAX_USERS
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

__all__ = [
    "BEHAVIOR_PROBS", "GeneratedData", "GeneratedSession", "GeneratorParams", "SessionStream",
    "generate_sessions",
]  # fmt: skip
# Probability of re-drawing the category after each click, per behaviour.
SWITCH_PROB = {"explorer": 0.40, "deep_dive": 0.15, "comparison": 0.50}
ZIPF_EXPONENT = 0.8
MIN_SESSION_LEN = 3
# categories scale with the catalog: the seed's 25 categories of 5,000 items, 200 items each
ITEMS_PER_CATEGORY = 200
MIN_CATEGORIES = 6  # the preferred categories are drawn without replacement, up to 5


def scaled_categories(n_items: int) -> int:
    """The category count for a catalog of ``n_items`` (25 at the seed's 5,000)."""
    return max(MIN_CATEGORIES, round(n_items / ITEMS_PER_CATEGORY))


@dataclass(frozen=True)
class GeneratorParams:
    """The seed's generator parameters (its defaults)."""

    n_users: int = 20_000
    n_items: int = 5_000
    n_categories: int = 0  # 0: scale with the catalog (``scaled_categories``)
    seed: int = 42
    mode: str = "seed"  # one of GENERATORS
    mode_params: ModeParams = field(default_factory=ModeParams)
    scenario: str = "none"  # one of SCENARIOS (streamrec.config)
    drift_at: float = DRIFT_AT  # the moment: share of the users generated before it

    def __post_init__(self) -> None:
        if not 0 <= self.n_users <= MAX_USERS or not 1 <= self.n_items <= MAX_ITEMS:
            raise ValueError(
                f"need 0 <= n_users <= {MAX_USERS:,} and 1 <= n_items <= {MAX_ITEMS:,}, got "
                f"{self.n_users:,} users and {self.n_items:,} items"
            )
        if self.n_categories == 0:
            object.__setattr__(self, "n_categories", scaled_categories(self.n_items))


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
    shares = rng.dirichlet(np.ones(n_categories) * 2.0) * n_items
    sizes = np.round(shares).astype(int)
    sizes[-1] = n_items - sizes[:-1].sum()
    if sizes[-1] < 0:  # many categories: the seed's rounding overshot; largest remainders
        sizes = np.floor(shares).astype(int)
        sizes[np.argsort(sizes - shares)[: n_items - sizes.sum()]] += 1
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


@dataclass(slots=True)
class GeneratedSession:
    """One kept session as the stream yields it, with its hidden truth (see
    ``GeneratedData``, whose lists hold these fields session by session)."""

    items: list[int]
    behavior: str
    preferred_categories: list[int]
    click_categories: list[int]
    click_sources: list[int]
    subtopic: int
    phase: int


class SessionStream:
    """The generator's catalog, built at once, and its sessions, drawn one user at a time.

    Memory holds the catalog (its layout, popularity and the mode's tables: O(items)) and
    one session; iterating ``sessions()`` never keeps earlier ones, so the number of users
    costs only time. The draws are the seed's, in the seed's order, so collecting the stream
    (``generate_sessions``) gives the seed's sessions bit for bit.
    """

    def __init__(self, params: GeneratorParams | None = None) -> None:
        params = params or GeneratorParams()
        if params.n_categories < MIN_CATEGORIES:
            raise ValueError(f"need n_categories >= {MIN_CATEGORIES}")
        if params.mode not in GENERATORS:
            raise ValueError(
                f"generator mode must be one of {', '.join(GENERATORS)}: {params.mode!r}"
            )
        self.params = params
        self.rng = np.random.RandomState(params.seed)
        self.category_items, self.item_category = _category_layout(
            self.rng, params.n_items, params.n_categories
        )
        self.popularity = _zipf_popularity(self.category_items, params.n_items)
        self.phases = build_phases(
            params.scenario, self.category_items, self.popularity, params.seed
        )
        self.process: ModeProcess | None = None
        self.phase_tables = [ModeTables() for _ in self.phases]
        if params.mode != "seed":
            full = Phase(live=np.ones(params.n_items, dtype=bool), popularity=self.popularity)
            # the tables span the full catalog; set_phase picks the live part
            self.process = ModeProcess(
                params.mode, params.mode_params, self.category_items,
                full.category_cdfs(self.category_items), self.item_category, params.seed,
            )  # fmt: skip
            self.phase_tables = [
                phase_tables(self.process.tables, phase.live) for phase in self.phases
            ]
        self._started = False
        self.drawn = 0  # users drawn so far (``seed`` drops some: not every one yields)

    def data(self) -> GeneratedData:
        """An empty ``GeneratedData`` holding this stream's catalog and tables."""
        return GeneratedData(
            params=self.params,
            sessions=[],
            behaviors=[],
            preferred_categories=[],
            click_categories=[],
            item_category=self.item_category,
            item_popularity=self.popularity,
            category_items=self.category_items,
            tables=self.process.tables if self.process is not None else ModeTables(),
            phases=self.phases,
            phase_tables=self.phase_tables,
        )

    def sessions(self) -> Iterator[GeneratedSession]:
        """The kept sessions in user order (``seed`` drops those under 3 clicks, as the
        seed does; the modes keep every user's). Once per stream: the draws are consumed."""
        if self._started:
            raise RuntimeError("a SessionStream yields its sessions once; make a new one")
        self._started = True
        if self.process is not None:
            yield from self._mode_sessions(self.process)
        else:
            yield from self._seed_sessions()

    def _seed_sessions(self) -> Iterator[GeneratedSession]:
        params, rng, phases = self.params, self.rng, self.phases
        behavior_names = list(BEHAVIORS)
        moment = drift_user(params.n_users, params.scenario, params.drift_at)
        for user in range(params.n_users):
            self.drawn = user + 1
            phase = int(user >= moment)
            if user in (0, moment):  # the live catalog and popularity (same floats as the seed's)
                live_items = phases[phase].category_items(self.category_items)
                category_cdfs = phases[phase].category_cdfs(self.category_items)
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
                cdf = category_cdfs[current_cat]
                idx = int(cdf.searchsorted(rng.random_sample(), side="right"))
                session.append(int(items[idx]))
                cats.append(current_cat)
                if rng.random() < switch_prob:
                    if behavior == "explorer":
                        current_cat = int(rng.choice(params.n_categories))
                    else:
                        current_cat = int(rng.choice(preferred_cats))

            if len(session) >= MIN_SESSION_LEN:
                yield GeneratedSession(
                    session, behavior, [int(c) for c in preferred_cats], cats,
                    [FROM_SEED_PROCESS] * len(session), -1, phase,
                )  # fmt: skip

    def _mode_sessions(self, process: ModeProcess) -> Iterator[GeneratedSession]:
        """Sessions of a ``series`` or ``anchor`` mode: each user's behaviour, length and
        preferred categories drawn as the seed draws them, the clicks by ``process``
        (switched to the second phase's items and tables at the moment)."""
        params, rng = self.params, self.rng
        behavior_names = list(BEHAVIORS)
        all_categories = np.arange(params.n_categories)
        moment = drift_user(params.n_users, params.scenario, params.drift_at)
        subtopic = process.tables.item_subtopic
        for user in range(params.n_users):
            self.drawn = user + 1
            phase = int(user >= moment)
            if user in (0, moment):
                live = self.phases[phase]
                process.set_phase(
                    live.category_items(self.category_items),
                    live.category_cdfs(self.category_items),
                    self.phase_tables[phase],
                )
            behavior = str(rng.choice(behavior_names, p=list(live.behavior_probs)))
            session_len = rng.randint(5, 35)
            preferred_cats = rng.choice(params.n_categories, size=rng.randint(2, 6), replace=False)
            start = int(rng.choice(preferred_cats))
            targets = all_categories if behavior == "explorer" else preferred_cats
            drawn = process.draw(rng, session_len, start, SWITCH_PROB[behavior], targets)
            yield GeneratedSession(
                drawn.items, behavior, [int(c) for c in preferred_cats], drawn.categories,
                drawn.sources, -1 if subtopic is None else int(subtopic[drawn.items[0]]), phase,
            )  # fmt: skip


def generate_sessions(params: GeneratorParams | None = None) -> GeneratedData:
    """Generate sessions exactly as the seed does, with the hidden truth alongside.

    Sessions shorter than 3 clicks are dropped (as in the seed), together with their labels.
    Holds every session: for large user counts iterate ``SessionStream.sessions()`` instead.
    """
    stream = SessionStream(params)
    data = stream.data()
    for s in stream.sessions():
        data.sessions.append(s.items)
        data.behaviors.append(s.behavior)
        data.preferred_categories.append(s.preferred_categories)
        data.click_categories.append(s.click_categories)
        data.click_sources.append(s.click_sources)
        data.session_subtopics.append(s.subtopic)
        data.session_phase.append(s.phase)
    return data
