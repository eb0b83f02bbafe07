"""Which scoring a stream gets on each device, and what ``auto`` serves on this machine."""

from __future__ import annotations

import pytest
import torch

from streamrec.model.scoring import ScoreRequest
from streamrec.model.streaming import load_streaming_scorer, resolve_scoring
from tests.models import TinyModel


@pytest.mark.parametrize(
    ("scoring", "device", "expected"),
    [
        ("auto", "cpu", "incremental"),
        ("auto", "cuda", "full"),
        ("incremental", "cuda", "incremental"),
        ("full", "cpu", "full"),
        ("incremental", "cpu", "incremental"),
    ],
)
def test_auto_recomputes_on_cuda_and_keeps_explicit_modes(
    scoring: str, device: str, expected: str
) -> None:
    assert resolve_scoring(scoring, torch.device(device)) == expected


def test_an_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="auto, incremental or full"):
        resolve_scoring("fast", torch.device("cpu"))


def test_auto_serves_the_exact_incremental_scorer_on_cpu(generated_model: TinyModel) -> None:
    auto, _ = load_streaming_scorer(generated_model.path, "auto")
    full, _ = load_streaming_scorer(generated_model.path, "full")
    assert (auto.mode, full.mode) == ("incremental", "full")
    requests = [
        ScoreRequest(session, window)
        for session, window in (("a", (1, 2, 3)), ("b", (4, 5)), ("a", (1, 2, 3, 7)))
    ]
    assert torch.allclose(auto.score_requests(requests), full.score_requests(requests), atol=1e-4)
