"""Two-stage retrieval through real servers: a consumer serving ``--retrieval ann`` gives
online what the offline evaluation gives with the same index."""

from __future__ import annotations

from pathlib import Path

import pytest

from streamrec.model.retrieval.index import IvfIndex, fingerprint, index_path
from streamrec.model.zoo import load_model
from tests.backends import Endpoints
from tests.integration.test_pipeline import replay_and_check
from tests.models import train_tiny_model

pytestmark = pytest.mark.integration


def test_an_ann_model_serves_online_what_it_scores_offline(
    servers: Endpoints, tmp_path: Path
) -> None:
    model = train_tiny_model(tmp_path / "lstm.pt")  # lstm-attn: incremental state + ANN
    # 50 candidates from 3 of the catalog's IVF lists (--ann-probes; the rule's 16 would be
    # all of them): retrieval really approximates, and online = offline with the same probes
    _settings, totals = replay_and_check(
        model,
        servers,
        tmp_path,
        sessions=300,
        consumers=1,
        retrieval="ann",
        candidates=50,
        ann_probes=3,
    )
    assert totals.applied > 0
    kept = index_path(model.path)
    assert kept.exists(), "the consumer keeps its index beside the checkpoint"
    header = kept.read_bytes()[:200]
    assert b"fingerprint" in header
    consumer_logs = "\n".join(p.read_text() for p in tmp_path.rglob("*.log"))
    assert "scoring: incremental+ann" in consumer_logs
    # the offline side loaded that file: it is valid for this checkpoint's output table
    network = load_model(model.path)[0].network  # type: ignore[attr-defined]
    weight, bias = (t.detach().numpy() for t in network.output_table())
    assert IvfIndex.load(kept, fingerprint(weight, bias)).lists > 3
