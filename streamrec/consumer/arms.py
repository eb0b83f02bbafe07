"""A second model beside the primary: a shadow that scores every event, or an A/B arm.

Shadow (``--shadow-model PATH``): the second model scores every window the primary scores;
its top-K is stored beside the primary's and evaluated against the next click, its totals and
metrics labelled ``shadow``; only the primary's recommendations are written.

A/B (``--shadow-model PATH --split-traffic P``): a session whose stable position (below) is
under P is served by the second model only: its recommendations, its stored top-K, its totals
and metrics labelled ``secondary``; every other session by the primary (``primary``).

Both models must share the window length, since both score the same windows. Beside a fixed
primary they must share the catalog too: which clicks join a window and are scored is decided
by the primary's catalog. Beside followed versions (``consume --follow``, shadow only) every
click joins the window and is scored, so the shadow may have any catalog: it scores a click
it does not know as padding in its place, and a target it does not know is its miss (the
offline prequential protocol with refresh ``never``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from streamrec.consumer.serving import ServedModel, top_k_by_model
from streamrec.contract.names import SECONDARY, SHADOW

_HASH_PERSON = b"streamrec-arm"  # keeps arm positions independent of the shard hash (crc32)


def arm_position(session_id: str) -> float:
    """A session's position in [0, 1), the same on every consumer, process and run."""
    digest = hashlib.blake2b(
        session_id.encode("utf-8"), digest_size=8, person=_HASH_PERSON
    ).digest()
    return int.from_bytes(digest, "big") / 2.0**64


def in_second_arm(session_id: str, share: float) -> bool:
    """Whether an A/B split giving ``share`` of the sessions to the second model serves this
    one from it."""
    return arm_position(session_id) < share


class IncompatibleModels(ValueError):
    """The second model cannot be scored beside the primary; one readable line."""


class SecondModel:
    """The second model and its role: shadow (``split`` 0) or A/B arm (0 < ``split`` < 1)."""

    def __init__(
        self, model: ServedModel, split: float, primary: ServedModel, following: bool = False
    ) -> None:
        """``following``: the primary is a followed version (any shadow catalog will do)."""
        if not 0 <= split < 1:
            raise ValueError(f"split must be in [0, 1), got {split}")
        if following and split:
            raise IncompatibleModels("an A/B split beside followed versions is not supported")
        check_compatible(primary, model, same_catalog=not following)
        self.model = model
        self.split = split

    @property
    def label(self) -> str:
        """Its ``model`` label and totals key suffix: ``shadow`` or ``secondary``."""
        return SECONDARY if self.split else SHADOW

    @property
    def is_shadow(self) -> bool:
        """Whether it scores every event beside the primary (else it serves its arm)."""
        return not self.split

    def arms(self, sessions: Sequence[str]) -> list[bool]:
        """Per row, whether its session is served by this model (A/B; all False for a
        shadow). Each session is hashed once."""
        if self.is_shadow:
            return [False] * len(sessions)
        known: dict[str, bool] = {}
        out = []
        for sid in sessions:
            arm = known.get(sid)
            if arm is None:
                arm = known[sid] = in_second_arm(sid, self.split)
            out.append(arm)
        return out


def check_compatible(primary: ServedModel, second: ServedModel, same_catalog: bool = True) -> None:
    """Raise ``IncompatibleModels`` unless both share the window length and (``same_catalog``)
    the catalog."""
    if second.max_len != primary.max_len:
        raise IncompatibleModels(
            f"the second model's window length {second.max_len} differs from the primary's "
            f"{primary.max_len}"
        )
    if not same_catalog:
        return
    a, b = primary.catalog, second.catalog
    same_ids = a.n_items == b.n_items and (
        (a.external is None and b.external is None)
        or (a.external is not None and b.external is not None and (a.external == b.external).all())
    )
    if not same_ids:
        raise IncompatibleModels(
            "the second model's catalog differs from the primary's (train both on the same data)"
        )


def split_top_k(
    primary: ServedModel,
    second: ServedModel,
    sessions: Sequence[str],
    windows: Sequence[Sequence[int]],
    arms: Sequence[bool],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``ServedModel.top_k`` of every row, each from its arm's model (A/B): rows with
    ``arms[row]`` from ``second``, the others from ``primary``; each model gets its rows in
    batch order, so a session's clicks stay in order for its scorer."""
    return top_k_by_model((primary, second), [int(a) for a in arms], sessions, windows)
