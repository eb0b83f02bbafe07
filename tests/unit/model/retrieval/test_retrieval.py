"""Two-stage retrieval: session vectors, the IVF index, candidates re-scored, ranks."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import torch

from streamrec.config import ConfigError
from streamrec.model.evaluation.ranking import MISS_RANK, rank_in_top_k, ranks_from_top_k
from streamrec.model.networks.gru4rec import Gru4RecConfig, Gru4RecNetwork
from streamrec.model.networks.incremental import IncrementalScorer
from streamrec.model.networks.lstm import ModelConfig, SessionLSTMRecommender
from streamrec.model.networks.narm import NarmConfig, NarmNetwork
from streamrec.model.networks.sasrec import SasRecConfig, SasRecNetwork
from streamrec.model.retrieval.index import IvfIndex, index_path, load_or_build
from streamrec.model.retrieval.scorer import (
    RetrievalScorer,
    RetrievalStreamingScorer,
    recall_against_exact,
    retrieval_scorer,
)
from streamrec.model.scoring import (
    EmbeddingNetworkScorer,
    NetworkScorer,
    ScoreRequest,
    WindowBatch,
    exact_top_k,
    scorer_top_k,
)

N_ITEMS = 400


def networks() -> dict[str, torch.nn.Module]:
    return {
        "gru4rec": Gru4RecNetwork(Gru4RecConfig(n_items=N_ITEMS, layers=(16,))),
        "narm": NarmNetwork(NarmConfig(n_items=N_ITEMS, embedding=16, hidden=16)),
        "sasrec": SasRecNetwork(SasRecConfig(n_items=N_ITEMS, hidden=16, heads=1, max_len=8)),
        "lstm-attn": SessionLSTMRecommender(
            ModelConfig(n_items=N_ITEMS, embed_dim=8, hidden_size=16)
        ),
    }


def windows(rows: int = 30, width: int = 8, seed: int = 0) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    out = rng.integers(1, N_ITEMS + 1, size=(rows, width))
    for r, length in enumerate(rng.integers(1, width + 1, size=rows)):
        out[r, : width - length] = 0
    return torch.from_numpy(out)


@pytest.mark.parametrize("name", ["gru4rec", "narm", "sasrec", "lstm-attn"])
def test_window_scores_are_session_vectors_times_the_output_table(name: str) -> None:
    network = networks()[name].eval()
    w = windows()
    with torch.no_grad():
        if name == "lstm-attn":
            scores, _ = network(w)
            vectors, _ = network(w, project=False)
        else:
            scores = network.window_scores(w)  # type: ignore[operator]
            vectors = network.window_vectors(w)  # type: ignore[operator]
        weight, bias = network.output_table()  # type: ignore[operator]
        rebuilt = vectors @ weight.T + (0 if bias is None else bias)
    assert torch.allclose(rebuilt, scores, atol=1e-5)


def test_ranks_from_top_k_agree_with_rank_in_top_k_ties_included() -> None:
    rng = np.random.default_rng(3)
    scores = torch.from_numpy(rng.integers(0, 60, size=(200, 50)).astype(np.float32))
    top = exact_top_k(scores, 20)
    targets = torch.from_numpy(rng.integers(0, 50, size=200))
    ranks = ranks_from_top_k(top.items, top.scores, top.ties, targets)
    expected = [
        rank_in_top_k(top.items[r].tolist(), top.scores[r].tolist(), int(targets[r]),
                      int(top.ties[r]))
        for r in range(200)
    ]  # fmt: skip
    assert ranks.tolist() == expected
    assert MISS_RANK in expected and 1 in expected


def test_ann_with_every_list_scanned_equals_exact_scoring(tmp_path: Path) -> None:
    network = networks()["gru4rec"].eval()
    base = EmbeddingNetworkScorer(network)
    ranked = retrieval_scorer(base, candidates=N_ITEMS, checkpoint=None, nprobe=10_000)
    batch = WindowBatch(windows().numpy(), np.full(30, 8), np.zeros(30), np.zeros(30))
    approx, exact = scorer_top_k(ranked, batch, 20), scorer_top_k(base, batch, 20)
    assert torch.equal(approx.items, exact.items)
    assert torch.allclose(approx.scores, exact.scores, atol=1e-5)
    assert recall_against_exact(ranked, [batch]) == 1.0


def test_few_candidates_rank_only_candidates_online_as_offline() -> None:
    network = networks()["narm"].eval()
    ranked = retrieval_scorer(EmbeddingNetworkScorer(network), candidates=40, checkpoint=None)
    assert isinstance(ranked, RetrievalScorer) and ranked.ranker.index.lists > 1
    w = windows(rows=12)
    batch = WindowBatch(w.numpy(), (w > 0).sum(1).numpy(), np.zeros(12), np.zeros(12))
    offline = ranked.top_k(batch, 20)
    online = RetrievalStreamingScorer(ranked, max_len=8).top_k_requests(
        [ScoreRequest(str(i), tuple(int(x) - 1 for x in row if x > 0)) for i, row in
         enumerate(w)], 20,
    )  # fmt: skip
    assert torch.equal(offline.items, online.items)
    full = ranked.score(batch)  # -inf outside each row's 40 candidates
    assert int(torch.isfinite(full).sum(dim=1).max()) <= 40
    assert 0.0 < recall_against_exact(ranked, [batch]) <= 1.0


def test_the_build_is_deterministic_and_persisted_beside_the_checkpoint(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    weight = np.random.default_rng(1).normal(size=(3000, 12)).astype(np.float32)
    bias = np.random.default_rng(2).normal(size=3000).astype(np.float32)
    queries = np.random.default_rng(4).normal(size=(50, 12)).astype(np.float32)
    path = index_path(tmp_path / "model.pt")
    first = load_or_build(weight, bias, path)
    assert path.exists()
    again = IvfIndex.build(weight, bias)
    loaded = load_or_build(weight, bias, path)
    assert np.array_equal(first.search(queries, 30), again.search(queries, 30))
    assert np.array_equal(first.search(queries, 30), loaded.search(queries, 30))
    # an index built for another table is refused, with one line, and replaced
    with pytest.raises(ValueError, match="built for another checkpoint"):
        IvfIndex.load(path, "0" * 64)
    with caplog.at_level(logging.WARNING, logger="streamrec.model"):
        load_or_build(weight * 2, bias, path)
    assert [r.getMessage() for r in caplog.records if "refusing" in r.getMessage()]
    assert IvfIndex.load(path, load_or_build(weight * 2, bias, None).fingerprint)


def test_models_without_session_vectors_are_refused() -> None:
    class Counts:
        def score(self, batch: object) -> torch.Tensor:
            return torch.zeros(1, N_ITEMS)

    with pytest.raises(ConfigError, match="needs a neural model"):
        retrieval_scorer(Counts(), 200, None)
    plain = NetworkScorer(networks()["gru4rec"])
    assert not hasattr(plain, "vectors")


def test_incremental_session_vectors_equal_recomputed_ones() -> None:
    network = SessionLSTMRecommender(ModelConfig(n_items=N_ITEMS, embed_dim=8, hidden_size=16))
    network.eval()
    cache = IncrementalScorer(network, max_len=8, budget_bytes=1 << 20)
    session = [5, 17, 3, 99, 250, 7, 1, 42, 8, 300]  # slides past max_len
    requests = [ScoreRequest("s", tuple(session[max(0, t - 7) : t + 1])) for t in range(10)]
    online = torch.cat([cache.vectors_requests([r]) for r in requests])
    windows = torch.zeros(10, 8, dtype=torch.long)
    for row, r in enumerate(requests):
        windows[row, 8 - len(r.window) :] = torch.tensor(r.window) + 1
    with torch.no_grad():
        offline, _ = network(windows, project=False)
    assert torch.allclose(online, offline, atol=1e-5)
    assert cache.cache_counters().by_reason.get("hit", 0) >= 6


def test_ann_probes_set_the_lists_scanned_and_never_exceed_them() -> None:
    network = networks()["lstm-attn"]
    base = EmbeddingNetworkScorer(network)
    by_rule = retrieval_scorer(base, candidates=40, checkpoint=None)
    lists = by_rule.ranker.index.lists
    assert by_rule.ranker.index.nprobe == min(16, lists)  # 0: by catalog size
    assert retrieval_scorer(base, 40, None, nprobe=2).ranker.index.nprobe == 2
    assert retrieval_scorer(base, 40, None, nprobe=10_000).ranker.index.nprobe == lists
