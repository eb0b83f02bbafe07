"""The oracle's line on an over-time plot: the Hit@10 that the best possible scorer (the
generator's exact next-click distribution, ``model.evaluation.oracle``) gets offline on the
replayed sessions, drawn beside the online windows so the gap to "the best possible" shows.

Only generated data has an oracle; for a click log there is no line. Under a drift scenario
the demo draws a step instead (``drift.DriftReport.oracle_line``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from streamrec.model.evaluation.oracle import OracleScorer
from streamrec.pipeline.offline import evaluate_shown
from streamrec.pipeline.overtime import OracleLine
from streamrec.producer.sources import ReplaySessions

if TYPE_CHECKING:
    from rich.console import Console


def oracle_hit_at_10(sessions: ReplaySessions, console: Console | None = None) -> float | None:
    """The oracle's offline Hit@10 on every prefix of ``sessions`` (None for a click log),
    announced with its progress on ``console`` when given."""
    corpus = sessions.corpus
    if corpus.generated is None or not len(sessions):
        return None
    what = f"the oracle (the best possible Hit@10) on {len(sessions):,} sessions"
    totals = evaluate_shown(
        OracleScorer(corpus), sessions.examples(), corpus.behaviors, console, what
    )
    return totals.total.metrics()["hit_at_10"]


def flat_line(level: float | None, end_s: float) -> OracleLine | None:
    """A constant line at ``level`` from 0 to ``end_s`` seconds (None without a level)."""
    return None if level is None else [(0.0, level), (max(end_s, 0.0), level)]
