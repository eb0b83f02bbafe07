"""A corpus of sessions over a dense catalog: generated, or read from a click log.

Everything downstream (examples, splits, baselines, training, the producer) works on a
``SessionCorpus``: sessions of dense 0-based item ids, an optional behaviour label per
session, and, for generated data, the generator's hidden truth (for the oracle).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from streamrec.model.data.generator import GeneratedData, GeneratorParams, generate_sessions
from streamrec.model.data.scenarios import DRIFT_AT

DEFAULT_ITEMS = GeneratorParams().n_items


@dataclass
class SessionCorpus:
    """Sessions of dense item ids ``0..n_items-1``.

    ``session_ids`` name the sessions (stable across runs for the same source); ``behaviors``
    holds a label per session or None; ``generated`` is set for generated corpora;
    ``item_ids`` maps dense ids back to a click log's own ids (None for generated data);
    ``start_times`` holds each session's first click time for logs, ``click_times`` the time
    of every click (unix seconds, aligned with ``sessions``; the replay clock keeps a log's
    own gaps with them); ``dropped_unknown_clicks`` counts a log's clicks on items outside
    the catalog it was mapped through.
    """

    sessions: list[list[int]]
    session_ids: list[str]
    behaviors: list[str | None]
    n_items: int
    source: str
    generated: GeneratedData | None = None
    item_ids: np.ndarray | None = None
    start_times: np.ndarray | None = None
    dropped_unknown_clicks: int = 0
    click_times: list[list[float]] | None = None

    @property
    def item_category(self) -> np.ndarray | None:
        """Category of each item when known (generated data)."""
        return self.generated.item_category if self.generated is not None else None


def generated_corpus(
    users: int = 20_000,
    seed: int = 42,
    generator: str = "seed",
    scenario: str = "none",
    drift_at: float = DRIFT_AT,
    items: int = DEFAULT_ITEMS,
) -> SessionCorpus:
    """The generator in mode ``generator`` with ``users`` users, ``items`` items and
    ``seed``, drifting by ``scenario`` at ``drift_at`` (other parameters: the seed's
    defaults). Names as ``generated_names`` gives them."""
    params = GeneratorParams(
        n_users=users, n_items=items, seed=seed, mode=generator, scenario=scenario,
        drift_at=drift_at,
    )  # fmt: skip
    data = generate_sessions(params)
    prefix, source = generated_names(params)
    return SessionCorpus(
        sessions=data.sessions,
        session_ids=[f"{prefix}-{i}" for i in range(len(data.sessions))],
        behaviors=list[str | None](data.behaviors),
        n_items=data.n_items,
        source=source,
        generated=data,
    )


def generated_names(params: GeneratorParams) -> tuple[str, str]:
    """(session id prefix, corpus source) of generated data: the source names the users,
    seed and mode (the catalog size and the scenario only when not the defaults); ids are
    ``<prefix>-<n>``, the prefix naming the mode unless it is ``seed`` (whose ids stay as
    they were), the catalog size unless default and the scenario unless it is ``none``."""
    seed, generator = params.seed, params.mode
    prefix = f"g{seed}" if generator == "seed" else f"g{seed}{generator[0]}"
    source = f"generated(users={params.n_users}, seed={seed}, generator={generator})"
    if params.n_items != DEFAULT_ITEMS:
        prefix += f"i{params.n_items}"
        source = f"{source[:-1]}, items={params.n_items})"
    if params.scenario != "none":
        prefix += f"d{params.scenario[0]}"
        source = f"{source[:-1]}, scenario={params.scenario}, drift_at={params.drift_at:g})"
    return prefix, source


def generator_of(source: str) -> str | None:
    """The generator mode a corpus source names (``seed`` for sources written before modes
    existed), or None when the source is not generated data."""
    if not source.startswith("generated("):
        return None
    for part in source.removeprefix("generated(").rstrip(")").split(","):
        key, _, value = part.strip().partition("=")
        if key == "generator":
            return value
    return "seed"
