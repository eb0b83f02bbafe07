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
from dataclasses import dataclass

import torch

from streamrec.model.networks.lstm import SessionLSTMRecommender
from streamrec.model.scoring import CacheCounters, ScoreRequest

MIN_SLOTS = 64


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
        self._slab = _Slab(model, self.capacity, max_len, self.device)
        self._positions = torch.arange(max_len, device=self.device)
        self._entries: OrderedDict[str, tuple[int, tuple[int, ...]]] = OrderedDict()
        self._free = list(range(self.capacity - 1, -1, -1))
        self.counters = CacheCounters()
        self._project = True  # the call in progress: logits, or session vectors

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

    @property
    def mode(self) -> str:
        """'incremental' (the ``StreamingScorer`` contract)."""
        return "incremental"

    def cache_counters(self) -> CacheCounters:
        """Counts since the last call."""
        return self.counters.take()

    def cached_sessions(self) -> int:
        """Sessions in the cache now."""
        return self.sessions

    def score_requests(self, requests: Sequence[ScoreRequest]) -> torch.Tensor:
        """The ``StreamingScorer`` contract: windows of dense ids (model ids are dense + 1)."""
        shift = (1).__add__  # model ids are dense ids + 1 (0 is padding)
        return self.score([ScoreRequest(r.key, tuple(map(shift, r.window))) for r in requests])

    def vectors_requests(self, requests: Sequence[ScoreRequest]) -> torch.Tensor:
        """Session vectors (len(requests), hidden) before the output layer, for windows of
        dense ids: what two-stage retrieval searches with (``model.retrieval``)."""
        shift = (1).__add__
        requests = [ScoreRequest(r.key, tuple(map(shift, r.window))) for r in requests]
        return self.score(requests, project=False)

    @torch.no_grad()
    def score(self, requests: Sequence[ScoreRequest], project: bool = True) -> torch.Tensor:
        """Logits (len(requests), n_items) for windows of *model* ids (``project=False``:
        the session vectors (len(requests), hidden) before the output layer). Requests are served in
        order, so a session may appear several times (its consecutive clicks); each window
        must hold 1..max_len ids.

        A session's consecutive requests whose windows each extend the previous one by a
        click form a segment, served by one LSTM run over the segment's new clicks: from the
        cached state when the cache holds a prefix of the segment's last window, else from
        zero. A session's first segment in the call uses its cache slot; later ones start
        only where the window slid (or changed), so they run from zero in a scratch area, and
        the last one is then kept. Two LSTM passes per call, however the clicks interleave.
        """
        for window in (r.window for r in requests):
            if not 1 <= len(window) <= self.max_len:
                raise ValueError(f"window length must be in 1..{self.max_len}")
        width = self.model.n_items if project else self.model.hidden_size
        logits = torch.empty((len(requests), width), device=self.device)
        self._project = project
        for start in range(0, len(requests), self.capacity):  # <= capacity sessions a chunk
            chunk = range(start, min(start + self.capacity, len(requests)))
            self._score_chunk([requests[i] for i in chunk], logits[start : chunk.stop])
        return logits

    def _score_chunk(self, requests: list[ScoreRequest], logits: torch.Tensor) -> None:
        first: dict[str, _Segment] = {}
        later: list[_Segment] = []
        last: dict[str, _Segment] = {}
        for index, request in enumerate(requests):
            segment = last.get(request.key)
            if segment is not None and segment.extends(request.window):
                segment.add(index, request.window)
                self.counters.count("hit")
                continue
            segment = _Segment(request.key, [index], request.window)
            if request.key in first:
                later.append(segment)
                self.counters.count("stale")
            else:
                first[request.key] = segment
            last[request.key] = segment

        runs: list[tuple[int, int, tuple[int, ...]]] = []  # (slot, first new position, window)
        for segment in first.values():
            entry = self._entries.get(segment.key)
            cached = entry[1] if entry is not None else ()
            hit = 0 < len(cached) < len(segment.window) and segment.window[: len(cached)] == cached
            slot = entry[0] if entry is not None else self._take_slot()
            self.counters.count("hit" if hit else "new" if entry is None else "stale")
            runs.append((slot, len(cached) if hit else 0, segment.window))
            self._entries[segment.key] = (slot, segment.window)
            self._entries.move_to_end(segment.key)
        self._slab.run(runs)
        self._pool_into(logits, self._slab, list(first.values()), [r[0] for r in runs], requests)

        if later:
            scratch = _Slab(self.model, len(later), self.max_len, self.device)
            rows = list(range(len(later)))
            scratch.run([(row, 0, segment.window) for row, segment in zip(rows, later)])
            self._pool_into(logits, scratch, later, rows, requests)
            keep = {segment.key: row for row, segment in zip(rows, later)}  # last one wins
            slots = [self._entries[key][0] for key in keep]
            self._slab.copy_from(scratch, list(keep.values()), slots)
            for key, row in keep.items():
                self._entries[key] = (self._entries[key][0], later[row].window)

    def _pool_into(
        self,
        logits: torch.Tensor,
        slab: _Slab,
        segments: list[_Segment],
        slots: list[int],
        requests: list[ScoreRequest],
    ) -> None:
        """Logits of every request of ``segments`` (segment i lives in ``slots[i]``)."""
        rows = [i for segment in segments for i in segment.requests]
        request_slots = [slot for slot, seg in zip(slots, segments) for _ in seg.requests]
        lengths = [len(requests[i].window) for i in rows]
        logits[rows] = slab.pool(
            torch.tensor(request_slots, device=self.device),
            torch.tensor(lengths, device=self.device),
            self._positions,
            self._project,
        )

    def _take_slot(self) -> int:
        if self._free:
            slot = self._free.pop()
            # pooling multiplies positions past a window's end by a zero weight: they must
            # hold numbers, and a never-used slot holds whatever the memory held (maybe NaN)
            self._slab.outputs[slot].zero_()
            return slot
        _key, (slot, _window) = self._entries.popitem(last=False)
        self.counters.evictions += 1
        return slot


class _Slab:
    """Per-slot LSTM state, per-position outputs and attention scores (float32 tensors)."""

    def __init__(
        self, model: SessionLSTMRecommender, slots: int, max_len: int, device: torch.device
    ) -> None:
        hidden, layers = model.hidden_size, model.config.num_layers
        self.model = model
        self.device = device
        # torch.empty: pages become resident only as slots are used
        self.outputs = torch.empty((slots, max_len, hidden), device=device)
        self.scores = torch.empty((slots, max_len), device=device)
        self.h = torch.empty((layers, slots, hidden), device=device)
        self.c = torch.empty((layers, slots, hidden), device=device)

    def run(self, runs: list[tuple[int, int, tuple[int, ...]]]) -> None:
        """For each (slot, start, window): run the LSTM over ``window[start:]`` from the slot's
        state (start > 0) or the zero state (start 0), all rows in one pass; store outputs,
        attention scores and final states. A slot run from zero has its later positions
        zeroed (pooling gives them weight zero, and garbage could be NaN)."""
        model, device = self.model, self.device
        n_new = [len(window) - start for _slot, start, window in runs]
        longest = max(n_new)
        padded = torch.tensor(
            [[*window[start:], *([0] * (longest - n))] for (_, start, window), n in
             zip(runs, n_new)],
            device=device,
        )  # fmt: skip
        slots = torch.tensor([slot for slot, _, _ in runs], device=device)
        starts = torch.tensor([start for _, start, _ in runs], device=device)
        fresh = (starts == 0).view(1, -1, 1)
        h0 = self.h[:, slots].masked_fill(fresh, 0.0)
        c0 = self.c[:, slots].masked_fill(fresh, 0.0)
        if longest == 1:  # the common case: one new click per session
            out, (h, c) = model.step(padded, (h0, c0))
            write_slots, positions, new_outputs = slots, starts, out[:, 0]
        else:
            lengths = torch.tensor(n_new)
            out, (h, c) = model.step(padded, (h0, c0), lengths)
            valid = torch.arange(longest).unsqueeze(0) < lengths.unsqueeze(1)
            rows, steps = (t.to(device) for t in valid.nonzero(as_tuple=True))
            write_slots, positions, new_outputs = (
                slots[rows],
                starts[rows] + steps,
                out[rows, steps],
            )
        self.h[:, slots] = h
        self.c[:, slots] = c
        self.outputs[write_slots, positions] = new_outputs
        self.scores[write_slots, positions] = model.attention_scores(new_outputs)
        for slot, start, window in runs:
            if start == 0 and len(window) < self.outputs.shape[1]:
                self.outputs[slot, len(window) :] = 0.0

    def pool(
        self,
        slots: torch.Tensor,
        lengths: torch.Tensor,
        positions: torch.Tensor,
        project: bool = True,
    ) -> torch.Tensor:
        """Attention over the first ``lengths`` positions of each slot, then the output
        layer: the model's logits for those windows (``project=False``: the pooled session
        vectors, before the output layer)."""
        mask = positions.unsqueeze(0) < lengths.unsqueeze(1)
        if not project:
            context, _ = self.model.pool_context(self.outputs[slots], self.scores[slots], mask)
            return context
        logits, _weights = self.model.pool(self.outputs[slots], self.scores[slots], mask)
        return logits

    def copy_from(self, other: _Slab, rows: list[int], slots: list[int]) -> None:
        """Copy ``other``'s ``rows`` into this slab's ``slots``."""
        src = torch.tensor(rows, device=self.device)
        dst = torch.tensor(slots, device=self.device)
        self.outputs[dst] = other.outputs[src]
        self.scores[dst] = other.scores[src]
        self.h[:, dst] = other.h[:, src]
        self.c[:, dst] = other.c[:, src]


@dataclass
class _Segment:
    """A session's consecutive requests whose windows extend each other click by click."""

    key: str
    requests: list[int]
    window: tuple[int, ...]  # the last request's window

    def extends(self, window: tuple[int, ...]) -> bool:
        """True when ``window`` is this segment's window plus one click."""
        return len(window) == len(self.window) + 1 and window[:-1] == self.window

    def add(self, index: int, window: tuple[int, ...]) -> None:
        """Append a request whose window extends the segment."""
        self.requests.append(index)
        self.window = window
