"""Online GRU4Rec scoring: carry each session's GRU state from one click to the next.

The state after a window depends on the window's clicks only (the GRU starts from zero at
its first click), so a session whose cached window is exactly the new window minus its last
click costs one GRU step. Anything else (no entry; another window, e.g. a missed click or a
restart; a window that slid past ``max_len``, which starts the GRU at a new first click) is
recomputed from the request's window. GRU4Rec itself carries the state over a whole session;
StreamRec keeps a session's last ``max_len`` clicks, and offline scoring uses the same window,
so these scores equal the offline ones (up to float rounding).

The cache is an LRU bounded by a memory budget (entries = budget / bytes per entry).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import numpy as np
import torch

from streamrec.model.networks.gru4rec import Gru4RecNetwork
from streamrec.model.scoring import CacheCounters, ScoreRequest, WindowBatch

MIN_ENTRIES = 64
ENTRY_OVERHEAD = 200  # bytes of bookkeeping per entry (dict slot, tuple, tensor header)


class Gru4RecStreamingScorer:
    """A ``StreamingScorer`` that steps cached GRU states where the window allows it."""

    def __init__(
        self,
        network: Gru4RecNetwork,
        max_len: int,
        budget_bytes: int,
        device: torch.device | str = "cpu",
    ) -> None:
        self.device = torch.device(device)
        self.network = network.to(self.device).eval()
        self.max_len = max_len
        per_entry = 4 * network.state_size + 8 * max_len + ENTRY_OVERHEAD
        self.capacity = max(MIN_ENTRIES, budget_bytes // per_entry)
        self._entries: OrderedDict[str, tuple[tuple[int, ...], torch.Tensor]] = OrderedDict()
        self.counters = CacheCounters()

    @property
    def mode(self) -> str:
        """'incremental'."""
        return "incremental"

    def cache_counters(self) -> CacheCounters | None:
        """Requests by reason and evictions since the last call."""
        return self.counters.take()

    def cached_sessions(self) -> int:
        """Sessions with a cached state."""
        return len(self._entries)

    def clear(self) -> None:
        """Forget every session."""
        self._entries.clear()

    @torch.no_grad()
    def score_requests(self, requests: Sequence[ScoreRequest]) -> torch.Tensor:
        """Scores (len(requests), n_items), requests served in stream order."""
        states = self.network.zero_state(len(requests), self.device)
        pending = list(range(len(requests)))
        while pending:  # waves in which each session appears once, in stream order
            wave: list[int] = []
            later: list[int] = []
            seen: set[str] = set()
            for i in pending:
                key = requests[i].key
                (later if key in seen else wave).append(i)
                seen.add(key)
            self._serve(requests, wave, states)
            pending = later
        return self.network.score_all(states)

    def _serve(self, requests: Sequence[ScoreRequest], wave: list[int], out: torch.Tensor) -> None:
        hits: list[int] = []
        misses: list[int] = []
        windows = [tuple(requests[i].window[-self.max_len :]) for i in wave]
        for row, (i, window) in enumerate(zip(wave, windows)):
            entry = self._entries.get(requests[i].key)
            if entry is not None and entry[0] == window[:-1]:
                self.counters.count("hit")
                hits.append(row)
            else:
                self.counters.count("new" if entry is None else "stale")
                misses.append(row)
        if hits:
            previous = torch.stack([self._entries[requests[wave[r]].key][1] for r in hits])
            clicks = torch.tensor([windows[r][-1] for r in hits], device=self.device)
            stepped = self.network.step(self.network.embed(clicks), previous)
            for k, r in enumerate(hits):
                out[wave[r]] = stepped[k]
        if misses:
            batch = WindowBatch.from_windows([windows[r] for r in misses], self.max_len)
            padded = torch.from_numpy(np.asarray(batch.windows, dtype=np.int64)).to(self.device)
            recomputed = self.network.window_states(padded)
            for k, r in enumerate(misses):
                out[wave[r]] = recomputed[k]
        for row, i in enumerate(wave):
            key = requests[i].key
            self._entries[key] = (windows[row], out[i].clone())
            self._entries.move_to_end(key)
        while len(self._entries) > self.capacity:
            self._entries.popitem(last=False)
            self.counters.evictions += 1
