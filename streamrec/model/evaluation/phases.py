"""Offline figures per drift phase: before and after a scenario's moment.

Under a drift scenario (``model/data/scenarios.py``) every generated session belongs to the
phase that drew it; a scorer's examples split by their session's phase show what the drift
did to it. Used by ``streamrec evaluate`` and by the demo (``pipeline/drift.py``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from streamrec.model.data.corpus import SessionCorpus
from streamrec.model.data.examples import PrefixExamples
from streamrec.model.evaluation.evaluate import evaluate
from streamrec.model.scoring import Scorer

PHASE_NAMES: tuple[str, ...] = ("before", "after")  # phase 0 and phase 1 of a scenario


def has_phases(corpus: SessionCorpus) -> bool:
    """Whether the corpus was generated under a drift scenario (two phases)."""
    return corpus.generated is not None and corpus.generated.scenario != "none"


def split_by_phase(examples: PrefixExamples, corpus: SessionCorpus) -> dict[str, PrefixExamples]:
    """``examples`` (pointing into ``corpus``) by the phase of their session: ``before`` and
    ``after`` the moment. ``ValueError`` without a drift scenario."""
    if corpus.generated is None or not has_phases(corpus):
        raise ValueError("per-phase figures need generated data under a drift scenario")
    phase = np.asarray(corpus.generated.session_phase, dtype=np.int64)[examples.session_index]
    return {name: examples.subset(np.flatnonzero(phase == k)) for k, name in enumerate(PHASE_NAMES)}


def phase_reports(
    scorer: Scorer, examples: PrefixExamples, corpus: SessionCorpus
) -> dict[str, dict[str, Any]]:
    """The evaluation report (``evaluate``'s) of ``scorer`` on each phase's examples."""
    return {
        name: evaluate(scorer, part, corpus.behaviors).report()
        for name, part in split_by_phase(examples, corpus).items()
    }
