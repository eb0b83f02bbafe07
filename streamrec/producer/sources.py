"""What gets replayed: held-out generated sessions, or a click log."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from streamrec.config import Settings
from streamrec.model.data.clicklog import log_corpus
from streamrec.model.data.corpus import SessionCorpus
from streamrec.model.data.examples import PrefixExamples, build_examples, session_split
from streamrec.model.data.loading import load_corpus, read_filtered_log, split_training_log
from streamrec.traffic.dwell import LogNormalDwell, fit_lognormal, session_gaps


@dataclass
class ReplaySessions:
    """Sessions to replay with their ids, labels, and the event-side item ids of each click."""

    corpus: SessionCorpus
    indices: list[int]  # positions in ``corpus.sessions``

    def __len__(self) -> int:
        return len(self.indices)

    def external_items(self, index: int) -> list[int]:
        """The session's clicks as the events carry them (the log's own ids for CSV data)."""
        dense = self.corpus.sessions[index]
        if self.corpus.item_ids is None:
            return list(dense)
        return [int(self.corpus.item_ids[i]) for i in dense]

    def click_times(self) -> list[list[float]] | None:
        """Each replayed session's click times (unix seconds), or None without them."""
        times = self.corpus.click_times
        if times is None:
            return None
        return [times[i] for i in self.indices]

    @property
    def n_events(self) -> int:
        """Total clicks to replay."""
        return sum(len(self.corpus.sessions[i]) for i in self.indices)

    def phases(self) -> list[int] | None:
        """Each replayed session's drift phase (0 before the moment, 1 after), or None
        without a drift scenario."""
        generated = self.corpus.generated
        if generated is None or generated.scenario == "none":
            return None
        return [generated.session_phase[i] for i in self.indices]

    def examples(self, indices: list[int] | None = None) -> PrefixExamples:
        """The prefix examples of the replayed sessions (or of ``indices``, a part of them),
        each pointing at its session's position in the corpus (as the oracle reads it)."""
        chosen = self.indices if indices is None else indices
        examples = build_examples([self.corpus.sessions[i] for i in chosen])
        positions = np.asarray(chosen, dtype=np.int64)
        return replace(examples, session_index=positions[examples.session_index])


def replay_sessions(
    settings: Settings, held_out_only: bool = True, max_sessions: int = 0
) -> ReplaySessions:
    """The sessions the producer replays, in the order of their first click.

    ``held_out_only``: the side of ``settings.split`` that training held out, read as training
    read it, so the served model never saw them: the session split's 20% (also for the
    ``example`` split), or the sessions of a log's last ``test_days`` (``time``). With
    ``split == 'none'`` the whole log is replayed as it is in the file (no filters: items the
    model does not know reach the consumer as such). ``max_sessions`` > 0 keeps the first
    that many; under a drift scenario, that many around the moment instead (half before it,
    half after, as far as each side has them), so a short replay still crosses the drift.
    """
    if settings.split == "none" and settings.csv_path:
        corpus = log_corpus(read_filtered_log(settings, settings.csv_path, filtered=False))
        indices = list(range(len(corpus.sessions)))
    elif settings.split in ("time", "day") and held_out_only:
        log, _, test = split_training_log(settings)
        corpus = log_corpus(log)
        indices = test
    else:
        corpus = load_corpus(settings)
        indices = list(range(len(corpus.sessions)))
        if held_out_only and settings.split != "none":
            indices = [int(i) for i in session_split(len(corpus.sessions), settings.seed)[1]]
    if corpus.start_times is not None:
        starts = corpus.start_times
        indices = sorted(indices, key=lambda i: (starts[i], i))
    if max_sessions > 0:
        generated = corpus.generated
        if generated is not None and generated.scenario != "none":
            indices = _around(indices, generated.first_drifted, max_sessions)
        else:
            indices = indices[:max_sessions]
    return ReplaySessions(corpus, indices)


def _around(indices: list[int], moment: int, count: int) -> list[int]:
    """``count`` of the sorted ``indices`` centred on the first one at or after ``moment``
    (fewer on a side that has fewer, more on the other)."""
    first_after = sum(1 for i in indices if i < moment)
    start = max(0, min(first_after - count // 2, len(indices) - count))
    return indices[start : start + count]


def fitted_dwell(settings: Settings, path: str) -> LogNormalDwell:
    """Log-normal dwell times fitted to the gaps between clicks of the sessions of the log at
    ``path``, read in the run's log format as it is in the file (no filters)."""
    log = read_filtered_log(settings, path, filtered=False)
    try:
        return fit_lognormal(session_gaps(log.times))
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
