"""What gets replayed: held-out generated sessions, or a click log."""

from __future__ import annotations

from dataclasses import dataclass

from streamrec.config import Settings
from streamrec.model.data.corpus import SessionCorpus
from streamrec.model.data.examples import session_split
from streamrec.model.data.loading import load_corpus


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

    @property
    def n_events(self) -> int:
        """Total clicks to replay."""
        return sum(len(self.corpus.sessions[i]) for i in self.indices)


def replay_sessions(
    settings: Settings, held_out_only: bool = True, max_sessions: int = 0
) -> ReplaySessions:
    """The sessions the producer replays.

    By default the held-out side of the session split (seeded like training), so a model
    trained with ``--split session`` and the same seed never saw them. ``max_sessions`` > 0
    keeps the first that many.
    """
    corpus = load_corpus(settings)
    if held_out_only:
        _, held_out = session_split(len(corpus.sessions), settings.seed)
        indices = [int(i) for i in held_out]
    else:
        indices = list(range(len(corpus.sessions)))
    if max_sessions > 0:
        indices = indices[:max_sessions]
    return ReplaySessions(corpus, indices)
