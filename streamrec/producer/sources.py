"""What gets replayed: held-out generated sessions, or a click log."""

from __future__ import annotations

from dataclasses import dataclass

from streamrec.config import Settings
from streamrec.model.data.clicklog import log_corpus, time_split
from streamrec.model.data.corpus import SessionCorpus
from streamrec.model.data.examples import session_split
from streamrec.model.data.loading import load_corpus, read_filtered_log
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


def replay_sessions(
    settings: Settings, held_out_only: bool = True, max_sessions: int = 0
) -> ReplaySessions:
    """The sessions the producer replays, in the order of their first click.

    ``held_out_only``: the side of ``settings.split`` that training held out, read as training
    read it, so the served model never saw them: the session split's 20% (also for the
    ``example`` split), or the sessions of a log's last ``test_days`` (``time``). With
    ``split == 'none'`` the whole log is replayed as it is in the file (no filters: items the
    model does not know reach the consumer as such). ``max_sessions`` > 0 keeps the first
    that many.
    """
    if settings.split == "none" and settings.csv_path:
        corpus = log_corpus(read_filtered_log(settings, settings.csv_path, filtered=False))
        indices = list(range(len(corpus.sessions)))
    elif settings.split == "time" and held_out_only:
        log = read_filtered_log(settings, settings.csv_path)
        _, test = time_split(log, settings.test_days)
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
        indices = indices[:max_sessions]
    return ReplaySessions(corpus, indices)


def fitted_dwell(settings: Settings, path: str) -> LogNormalDwell:
    """Log-normal dwell times fitted to the gaps between clicks of the sessions of the log at
    ``path``, read in the run's log format as it is in the file (no filters)."""
    log = read_filtered_log(settings, path, filtered=False)
    try:
        return fit_lognormal(session_gaps(log.times))
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
