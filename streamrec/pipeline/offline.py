"""Offline evaluation inside a pipeline run, said and shown as it goes.

The demo compares its online figures with the served model's offline figures on the same
sessions, and draws the oracle's Hit@10 beside them (``oracle_line``); the load tests draw
the oracle too. Each is a full-ranking pass over every prediction, tens of seconds on a
laptop, so it says what it evaluates and shows its progress (``ProgressBoard``: a bar on a
terminal, a line every few seconds when the output is piped).
"""

from __future__ import annotations

from collections.abc import Sequence, Sized
from pathlib import Path
from typing import TYPE_CHECKING, Any

from streamrec.model.data.examples import PrefixExamples
from streamrec.model.evaluation.evaluate import evaluate
from streamrec.model.evaluation.ranking import GroupedTotals
from streamrec.model.retrieval.scorer import DEFAULT_CANDIDATES, retrieval_scorer
from streamrec.model.scoring import Scorer
from streamrec.model.zoo import load_model
from streamrec.producer.sources import ReplaySessions
from streamrec.progress import ProgressBoard

if TYPE_CHECKING:
    from rich.console import Console


def evaluate_shown(
    scorer: Scorer,
    examples: PrefixExamples,
    labels: Sequence[str | None],
    console: Console | None,
    what: str,
) -> GroupedTotals:
    """``evaluate``, announced on ``console`` ("evaluating WHAT offline on N predictions")
    with its progress over the predictions; silent without a console."""
    if console is None:
        return evaluate(scorer, examples, labels)
    console.print(
        f"evaluating {what} offline ({len(examples):,} predictions) ...",
        markup=False,
        highlight=False,
    )
    with ProgressBoard(console, transient=True) as board:
        task, done = board.add("offline", len(examples)), 0

        def count(_scores: object, targets: Sized) -> None:
            nonlocal done
            done += len(targets)
            board.update(task, done)

        return evaluate(scorer, examples, labels, on_batch=count)


def offline_report(
    model_path: Path,
    sessions: ReplaySessions,
    console: Console | None = None,
    retrieval: str = "exact",
    candidates: int = DEFAULT_CANDIDATES,
    ann_probes: int = 0,
) -> dict[str, Any]:
    """Offline evaluation of the model on exactly the replayed sessions (shown on
    ``console`` when given), with the consumer's ``retrieval`` (its ANN index: the one kept
    beside the checkpoint)."""
    model, _ = load_model(model_path, expect_n_items=sessions.corpus.n_items)
    scorer = model.scorer()
    if retrieval == "ann":
        scorer = retrieval_scorer(scorer, candidates, model_path, ann_probes)
    what = f"{model_path.name} on the same {len(sessions):,} sessions"
    totals = evaluate_shown(scorer, sessions.examples(), sessions.corpus.behaviors, console, what)
    return totals.report()
