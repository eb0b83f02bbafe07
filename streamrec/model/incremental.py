"""Incremental scoring: carry each session's LSTM state from one click to the next.

For a ``zero``-start model (``ModelConfig.window_start``) the LSTM state after a session's
clicks depends on those clicks only, so a new click costs one LSTM step, the attention over
at most ``max_len`` cached positions and the output layer, and gives exactly the model's
function. Per session the cache keeps, in one preallocated slab indexed by slot:

- the per-layer (h, c) after the window's last click,
- the top layer's output and attention score at every window position,
- the window's items, which is what an entry is looked up by.

An entry is used only when the request's window is the cached window plus one click. Anything
else (no entry: new session, restart, rebalance, eviction; a different window; a window that
slid past ``max_len``, which restarts the LSTM at a new first click) rebuilds the entry from
the request's window, which the caller reads from Redis, the source of truth. Because entries
are keyed by their window's content, a stale entry can cost a rebuild but never a wrong score.

The cache is an LRU bounded by a memory budget (slots = budget / bytes per slot).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from streamrec.model.lstm import SessionLSTMRecommender

MIN_SLOTS = 64


@dataclass(frozen=True)
class ScoreRequest:
    """Score the session ``key`` whose window (dense ids + 1, oldest first) is ``window``."""

    key: str
    window: tuple[int, ...]


@dataclass
class CacheCounters:
    """How requests were served since the scorer started."""

    hits: int = 0
    new: int = 0  # no entry for the session
    stale: int = 0  # an entry for another window (other consumer, missed event, slide)
    evictions: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)

    def count(self, reason: str) -> None:
        """Add one request served for ``reason`` (hit / new / stale)."""
        self.by_reason[reason] = self.by_reason.get(reason, 0) + 1
        if reason == "hit":
            self.hits += 1
        elif reason == "new":
            self.new += 1
        else:
            self.stale += 1


def bytes_per_slot(model: SessionLSTMRecommender, max_len: int) -> int:
    """Memory one cached session takes in the slab (float32)."""
    hidden, layers = model.hidden_size, model.config.num_layers
    return 4 * (max_len * hidden + max_len + 2 * layers * hidden) + 8


class IncrementalScorer:
    """Logits for session windows, one LSTM step per click where the cache allows it."""

    def __init__(
        self,
        model: SessionLSTMRecommender,
        max_len: int,
        budget_bytes: int,
        device: torch.device | str = "cpu",
    ) -> None:
        if not model.zero_start:
            raise ValueError(
                "incremental scoring needs a model trained with window_start='zero' "
                "(a 'padding' model's state at every click depends on the padding length)"
            )
        self.model = model.to(device).eval()
        self.max_len = max_len
        self.device = torch.device(device)
        self.capacity = max(MIN_SLOTS, budget_bytes // bytes_per_slot(model, max_len))
        hidden, layers = model.hidden_size, model.config.num_layers
        # torch.empty: pages become resident only as slots are used
        self._outputs = torch.empty((self.capacity, max_len, hidden), device=self.device)
        self._scores = torch.empty((self.capacity, max_len), device=self.device)
        self._h = torch.empty((layers, self.capacity, hidden), device=self.device)
        self._c = torch.empty((layers, self.capacity, hidden), device=self.device)
        self._lengths = torch.zeros(self.capacity, dtype=torch.long, device=self.device)
        self._positions = torch.arange(max_len, device=self.device)
        self._entries: OrderedDict[str, tuple[int, tuple[int, ...]]] = OrderedDict()
        self._free = list(range(self.capacity - 1, -1, -1))
        self.counters = CacheCounters()

    @property
    def sessions(self) -> int:
        """Sessions currently cached."""
        return len(self._entries)

    @property
    def cached_bytes(self) -> int:
        """Slab memory in use by cached sessions."""
        return self.sessions * bytes_per_slot(self.model, self.max_len)

    def clear(self) -> None:
        """Forget every session (the next request of each rebuilds from its window)."""
        self._entries.clear()
        self._free = list(range(self.capacity - 1, -1, -1))

    @torch.no_grad()
    def score(self, requests: Sequence[ScoreRequest]) -> torch.Tensor:
        """Logits (len(requests), n_items). Requests are served in order, so a session may
        appear several times (its consecutive clicks); each window must hold 1..max_len ids."""
        logits = torch.empty((len(requests), self.model.n_items), device=self.device)
        waves: list[list[int]] = []
        seen: dict[str, int] = {}
        for index, request in enumerate(requests):
            if not 1 <= len(request.window) <= self.max_len:
                raise ValueError(f"window length must be in 1..{self.max_len}")
            occurrence = seen.get(request.key, 0)
            seen[request.key] = occurrence + 1
            if occurrence == len(waves):
                waves.append([])
            waves[occurrence].append(index)
        for wave in waves:
            for start in range(0, len(wave), self.capacity):
                chunk = wave[start : start + self.capacity]
                logits[chunk] = self._score_distinct([requests[i] for i in chunk])
        return logits

    def _score_distinct(self, requests: list[ScoreRequest]) -> torch.Tensor:
        """Requests of distinct sessions, at most ``capacity`` of them."""
        slots: list[int] = []
        steps: list[tuple[int, int, int]] = []  # (slot, position, item)
        rebuilds: dict[int, list[tuple[int, tuple[int, ...]]]] = {}  # length -> (slot, window)
        for request in requests:
            entry = self._entries.get(request.key)
            window = request.window
            if entry is not None and entry[1] == window[:-1] and len(window) == len(entry[1]) + 1:
                slot = entry[0]
                self._entries.move_to_end(request.key)
                steps.append((slot, len(window) - 1, window[-1]))
                self.counters.count("hit")
            else:
                self.counters.count("new" if entry is None else "stale")
                slot = entry[0] if entry is not None else self._take_slot()
                rebuilds.setdefault(len(window), []).append((slot, window))
            self._entries[request.key] = (slot, window)
            self._entries.move_to_end(request.key)
            slots.append(slot)
        if steps:
            self._step(steps)
        for length, group in rebuilds.items():
            self._rebuild(length, group)
        return self._pool(torch.tensor(slots, device=self.device))

    def _take_slot(self) -> int:
        if self._free:
            return self._free.pop()
        _key, (slot, _window) = self._entries.popitem(last=False)
        self.counters.evictions += 1
        return slot

    def _attention_scores(self, outputs: torch.Tensor) -> torch.Tensor:
        model = self.model
        return (torch.tanh(model.attention_proj(outputs)) * model.attention_vector).sum(dim=-1)

    def _step(self, steps: list[tuple[int, int, int]]) -> None:
        """One LSTM step for each (slot, position, item) from the slot's cached state."""
        slot_list, position_list, item_list = zip(*steps, strict=True)
        slots = torch.tensor(slot_list, device=self.device)
        positions = torch.tensor(position_list, device=self.device)
        items = torch.tensor(item_list, device=self.device).unsqueeze(1)
        state = (self._h[:, slots], self._c[:, slots])
        out, (h, c) = self.model.lstm(self.model.item_embedding(items), state)
        self._h[:, slots] = h
        self._c[:, slots] = c
        self._outputs[slots, positions] = out[:, 0]
        self._scores[slots, positions] = self._attention_scores(out[:, 0])
        self._lengths[slots] = positions + 1

    def _rebuild(self, length: int, group: list[tuple[int, tuple[int, ...]]]) -> None:
        """Run the LSTM from the zero state over whole windows of ``length`` clicks."""
        slots = torch.tensor([slot for slot, _ in group], device=self.device)
        items = torch.tensor([window for _, window in group], device=self.device)
        out, (h, c) = self.model.lstm(self.model.item_embedding(items))
        self._h[:, slots] = h
        self._c[:, slots] = c
        self._outputs[slots, :length] = out
        # later steps fill these; zero (not garbage, which may be NaN) before they do, since
        # the pooling multiplies them by a zero weight
        self._outputs[slots, length:] = 0.0
        self._scores[slots, :length] = self._attention_scores(out)
        self._lengths[slots] = length

    def _pool(self, slots: torch.Tensor) -> torch.Tensor:
        """Attention over each slot's cached positions, then the output layer."""
        mask = self._positions.unsqueeze(0) < self._lengths[slots].unsqueeze(1)
        scores = self._scores[slots].masked_fill(~mask, float("-inf"))
        weights = torch.softmax(scores, dim=1)
        context = torch.bmm(weights.unsqueeze(1), self._outputs[slots]).squeeze(1)
        return self.model.output(context)
