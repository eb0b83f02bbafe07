"""Scorer throughput: the seed's padded forward vs StreamRec's exact scorer vs a one-step cache.

Three ways to score "the next item after this click" for a batch of session prefixes:
  padded       the seed's forward over the full left-padded 25-item window;
  exact        StreamRec's scorer (``score_windows``): same logits, but each group of equal
               prefix lengths runs only over its real items, from the shared padding state;
  incremental  one LSTM step from cached per-session state + attention over cached outputs.
The incremental path is NOT the trained model's function: with left padding, the state at
every position depends on how many padding steps precede the window, which changes with each
click (and the window start moves once it slides), so cached states are stale. The benchmark
measures its speed *and* how far its logits and top-20 drift from the exact ones.

    python bench/scorer.py [--model artifacts/model.pt] [--device cpu|cuda] [--threads 2]

Writes bench/results/scorer[-cuda].json.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from streamrec.config import Settings
from streamrec.model.checkpoint import load_checkpoint
from streamrec.model.evaluation import score_windows
from streamrec.model.examples import build_examples, session_split
from streamrec.model.lstm import SessionLSTMRecommender
from streamrec.model.runs import load_corpus

RESULTS = Path(__file__).parent / "results"
BATCH_SIZES = (1, 32, 256, 1024)


@torch.no_grad()
def incremental_step(
    model: SessionLSTMRecommender,
    items: torch.Tensor,
    state: tuple[torch.Tensor, torch.Tensor],
    outputs: torch.Tensor,
    scores: torch.Tensor,
) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor], torch.Tensor, torch.Tensor]:
    """One click per row: one LSTM step, attention over the cached (<= 25) positions."""
    emb = model.item_embedding(items + 1).unsqueeze(1)
    out, new_state = model.lstm(emb, state)
    new_score = (torch.tanh(model.attention_proj(out)) * model.attention_vector).sum(dim=2)
    outputs = torch.cat([outputs, out], dim=1)[:, -25:]
    scores = torch.cat([scores, new_score], dim=1)[:, -25:]
    weights = torch.softmax(scores, dim=1)
    context = torch.bmm(weights.unsqueeze(1), outputs).squeeze(1)
    return model.output(context), new_state, outputs, scores


def time_call(fn: Any, repeat: int) -> float:
    """Best-of-``repeat`` seconds for ``fn()``."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    """Run the benchmark and write its JSON."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--model", type=Path, default=Path("artifacts/model.pt"))
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        ap.error("--device cuda: torch sees no CUDA device")
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    model, meta = load_checkpoint(args.model, device=device)
    settings = Settings(seed=meta.seed)
    corpus = load_corpus(settings)
    _, held_out = session_split(len(corpus.sessions), settings.seed)
    sessions = [corpus.sessions[i] for i in held_out]
    examples = build_examples(sessions)
    rng = np.random.default_rng(0)

    results: dict[str, Any] = {"device": str(device), "threads": args.threads, "batches": {}}
    for batch in BATCH_SIZES:
        pick = rng.choice(len(examples), size=batch, replace=False)
        part = examples.subset(pick)
        windows = torch.from_numpy(part.windows).to(device)
        padded = time_call(lambda w=windows: model(w), args.repeat)
        exact = time_call(
            lambda p=part: score_windows(model, p.windows, p.lengths, device), args.repeat
        )
        hidden = model.hidden_size
        layers = model.config.num_layers
        state = (torch.zeros(layers, batch, hidden, device=device),) * 2
        outputs = torch.zeros(batch, 24, hidden, device=device)
        scores = torch.zeros(batch, 24, device=device)
        items = torch.from_numpy(part.targets).to(device)
        step = time_call(
            lambda i=items, s=state, o=outputs, c=scores: incremental_step(model, i, s, o, c),
            args.repeat,
        )
        results["batches"][str(batch)] = {
            "padded_events_per_s": batch / padded,
            "exact_events_per_s": batch / exact,
            "incremental_events_per_s": batch / step,
            "exact_over_padded": padded / exact,
            "incremental_over_exact": exact / step,
        }
        print(
            f"batch {batch:5d}: padded {batch / padded:9,.0f} ev/s  exact {batch / exact:9,.0f} "
            f"ev/s ({padded / exact:4.2f}x)  incremental {batch / step:9,.0f} ev/s "
            f"({exact / step:4.2f}x exact)"
        )

    # How far the one-step cache drifts from the trained model, replaying whole sessions.
    n = min(400, len(sessions))
    agree, max_diff, events = 0, 0.0, 0
    for session in sessions[:n]:
        state = (torch.zeros(layers, 1, hidden, device=device),) * 2
        outputs = torch.zeros(1, 0, hidden, device=device)
        scores = torch.zeros(1, 0, device=device)
        for t, item in enumerate(session):
            approx, state, outputs, scores = incremental_step(
                model, torch.tensor([item], device=device), state, outputs, scores
            )
            window = np.zeros((1, 25), dtype=np.int64)
            tail = np.asarray(session[max(0, t - 24) : t + 1]) + 1
            window[0, 25 - len(tail) :] = tail
            exact_logits = score_windows(model, window, np.array([len(tail)]), device)
            max_diff = max(max_diff, float((approx - exact_logits).abs().max()))
            top_a = set(approx.topk(20).indices[0].tolist())
            top_e = set(exact_logits.topk(20).indices[0].tolist())
            agree += top_a == top_e
            events += 1
    results["incremental_vs_exact"] = {
        "events": events,
        "max_abs_logit_diff": max_diff,
        "top20_identical_fraction": agree / events,
    }
    print(
        f"incremental vs exact over {events:,} events: max |logit diff| {max_diff:.3f}, "
        f"identical top-20 in {agree / events:.1%} of events"
    )
    out = args.out or RESULTS / ("scorer.json" if args.device == "cpu" else "scorer-cuda.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"-> {out}")


if __name__ == "__main__":
    main()
