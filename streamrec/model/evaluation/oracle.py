"""The oracle: the Bayes-optimal next-item distribution given the generator's hidden state.

For every generator mode (``model/data/generator_modes.py``) the next click of a prefix is
drawn from ``w * mode_part + (1 - w) * seed_part``:

- ``seed_part``: the seed's process. The next category stays with probability ``1 - p`` or
  is re-drawn uniformly with probability ``p`` (``p`` the behaviour's switch probability;
  over every category for explorers, over the preferred ones otherwise); the item then
  follows within-category popularity.
- ``mode_part``: nothing in ``seed`` mode (``w = 0``); the last item's successor in
  ``series``; a uniform draw from the anchor's sub-topic in ``anchor``.

Everything comes from ``GeneratedData``, per example: the session's behaviour and preferred
categories, the category and item of the last click, the session's anchor sub-topic, the
mode's weight and tables, and the drift scenario's phase that drew the session
(``model/data/scenarios.py``: its live items, popularity and tables). No model can beat
this on average, and ranking by it maximises the expected Hit@K. Exact ties between
different items are broken by a fixed item order (any order gives the same expected hits,
and ties otherwise count against the target).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from streamrec.model.data.corpus import SessionCorpus
from streamrec.model.data.generator import SWITCH_PROB, GeneratedData
from streamrec.model.scoring import PrefixBatch

# a tie-breaker this small moves no distinct probability past another (they differ by far
# more than 1e-12 relative) and keeps the scores' sum 1 within 1e-9
TIE_BREAK = 1e-12


@dataclass
class HiddenState:
    """What the generator knew before each prefix's next click (one row per prefix)."""

    session: np.ndarray  # corpus session index
    category: np.ndarray  # category of the last click
    last_item: np.ndarray
    subtopic: np.ndarray  # the anchor's sub-topic (-1 outside anchor mode)
    weight: np.ndarray  # the mode's share of the next click
    phase: np.ndarray  # the drift scenario's phase that drew the session (0 without drift)


class OracleScorer:
    """Exact next-item probabilities for prefixes of a generated corpus, in any mode."""

    def __init__(self, corpus: SessionCorpus) -> None:
        if corpus.generated is None:
            raise ValueError("the oracle baseline needs generated data (it reads hidden state)")
        gen: GeneratedData = corpus.generated
        self.gen = gen
        n_cat = gen.n_categories
        self.item_category = torch.from_numpy(gen.item_category)
        self.popularity = torch.from_numpy(gen.item_popularity)
        # per drift phase: (n_phases, n_items) popularity and live items
        self.phase_popularity = torch.from_numpy(np.stack([p.popularity for p in gen.phases]))
        self.phase_live = torch.from_numpy(np.stack([p.live for p in gen.phases]))
        self.session_phase = np.asarray(gen.session_phase, dtype=np.int64)
        self.session_switch = np.zeros((len(gen.sessions), n_cat))
        self.session_stay = np.zeros(len(gen.sessions))
        for s, behavior in enumerate(gen.behaviors):
            p = SWITCH_PROB[behavior]
            targets = range(n_cat) if behavior == "explorer" else gen.preferred_categories[s]
            for c in targets:
                self.session_switch[s, c] += p / len(targets)
            self.session_stay[s] = 1.0 - p
        self.weight = gen.params.mode_params.mix_weight(gen.mode)
        subtopic = gen.tables.item_subtopic
        self.item_subtopic = None if subtopic is None else torch.from_numpy(subtopic)
        self.subtopic_size = (  # (n_phases, n_subtopics): live items per sub-topic
            None
            if gen.tables.subtopic_items is None
            else np.array(
                [[len(items) for items in t.subtopic_items or []] for t in gen.phase_tables],
                dtype=np.float64,
            )
        )
        self.successor = (
            None
            if gen.tables.successor is None
            else np.stack([t.successor for t in gen.phase_tables if t.successor is not None])
        )
        # ranks items of equal probability in a fixed order, most popular first
        order = np.argsort(-gen.item_popularity, kind="stable")
        tie = np.empty(gen.n_items)
        tie[order] = np.linspace(1.0, 0.0, gen.n_items)
        self.tie_break = torch.from_numpy(tie * TIE_BREAK)

    def hidden_state(self, batch: PrefixBatch) -> HiddenState:
        """The hidden state before each prefix's target click."""
        if len(batch) and int(batch.session_index.min()) < 0:
            raise ValueError("the oracle scores corpus prefixes only (it reads hidden state)")
        gen = self.gen
        pairs = list(zip(batch.session_index.tolist(), batch.position.tolist()))
        return HiddenState(
            session=np.asarray(batch.session_index, dtype=np.int64),
            category=np.array([gen.click_categories[s][t - 1] for s, t in pairs], dtype=np.int64),
            last_item=np.array([gen.sessions[s][t - 1] for s, t in pairs], dtype=np.int64),
            subtopic=np.array([gen.session_subtopics[s] for s, _ in pairs], dtype=np.int64),
            weight=np.full(len(pairs), self.weight),
            phase=self.session_phase[np.asarray(batch.session_index, dtype=np.int64)],
        )

    def category_process(self, batch: PrefixBatch) -> torch.Tensor:
        """The seed's process alone: P(next item) from the category chain and popularity
        (on ``seed`` data, the whole oracle). (B, n_items), rows sum to 1."""
        return self._seed_part(self.hidden_state(batch))

    def _seed_part(self, state: HiddenState) -> torch.Tensor:
        cat_probs = self.session_switch[state.session].copy()
        cat_probs[np.arange(len(state.session)), state.category] += self.session_stay[state.session]
        popularity = self.phase_popularity[torch.from_numpy(state.phase)]
        return torch.from_numpy(cat_probs)[:, self.item_category] * popularity

    def _mode_part(self, state: HiddenState) -> torch.Tensor:
        n_rows, n_items = len(state.session), len(self.popularity)
        part = torch.zeros((n_rows, n_items), dtype=torch.float64)
        if self.successor is not None:
            successor = torch.from_numpy(self.successor[state.phase, state.last_item])
            part[torch.arange(n_rows), successor] = 1.0
        elif self.item_subtopic is not None and self.subtopic_size is not None:
            subtopic = torch.from_numpy(state.subtopic)
            size = torch.from_numpy(self.subtopic_size[state.phase, state.subtopic])
            same = self.item_subtopic.unsqueeze(0) == subtopic.unsqueeze(1)
            same &= self.phase_live[torch.from_numpy(state.phase)]
            part = same.double() / size.unsqueeze(1)
        return part

    def probabilities(self, batch: PrefixBatch) -> torch.Tensor:
        """P(next item | hidden state) for every item: (B, n_items), rows sum to 1."""
        state = self.hidden_state(batch)
        weight = torch.from_numpy(state.weight).unsqueeze(1)
        probs = (1.0 - weight) * self._seed_part(state)
        if bool((weight > 0).any()):
            probs = probs + weight * self._mode_part(state)
        return probs

    def score(self, batch: PrefixBatch) -> torch.Tensor:
        """The probabilities, exact ties broken by a fixed item order."""
        return self.probabilities(batch) + self.tie_break.unsqueeze(0)
