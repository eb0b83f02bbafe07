"""Scorer throughput: full-window recomputation vs incremental scoring, on a click stream.

Both exact ways to score "the next item after this click", on the same interleaved stream
of held-out sessions (``--concurrency`` sessions open at a time), in batches of 1, 32, 256
and 1024 events:
  full         ``score_windows``: recompute each event's whole window (the offline path);
  incremental  ``IncrementalScorer``: per session cached LSTM state, one step per click,
               rebuilt from the window on a cache miss or when the window slides.
Needs a ``window_start='zero'`` checkpoint (the default of ``streamrec train``). Also checks
on the same stream that the two give the same logits (max |difference|) and top-20.

``--retrieval ann`` adds two-stage scoring on the same stream: each click's session vector
from the incremental cache, ``--candidates`` items from the IVF index over the output
embeddings (``model.retrieval``; built, or loaded from beside the checkpoint), re-scored
exactly: its events/s, and its recall@20 against the full path's exact top-20.

``--padding-model CKPT`` adds why the seed's ``padding`` models cannot be scored this way:
a one-step cache on such a model drifts from its true logits (measured over 400 sessions).

    python bench/scorer.py [--model artifacts/model.pt] [--device cpu|cuda] [--threads 2]
        [--padding-model artifacts/model-padding.pt] [--retrieval ann] [--candidates 200]

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
from streamrec.model.data.examples import left_pad_window, session_split
from streamrec.model.data.loading import load_corpus
from streamrec.model.evaluation.evaluate import ModelScorer, score_windows
from streamrec.model.networks.incremental import IncrementalScorer, ScoreRequest
from streamrec.model.networks.lstm import SessionLSTMRecommender
from streamrec.model.retrieval.scorer import CandidateRanker, retrieval_scorer
from streamrec.model.zoo.lstm_attn import load_network
from streamrec.producer.replay import interleave
from streamrec.producer.sources import replay_sessions

RESULTS = Path(__file__).parent / "results"
BATCH_SIZES = (1, 32, 256, 1024)


@torch.no_grad()
def one_step_cache(
    model: SessionLSTMRecommender,
    items: torch.Tensor,
    state: tuple[torch.Tensor, torch.Tensor],
    outputs: torch.Tensor,
    scores: torch.Tensor,
) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor], torch.Tensor, torch.Tensor]:
    """One click per row on a padding model: one LSTM step, attention over cached positions."""
    emb = model.item_embedding(items + 1).unsqueeze(1)
    out, new_state = model.lstm(emb, state)
    new_score = (torch.tanh(model.attention_proj(out)) * model.attention_vector).sum(dim=2)
    outputs = torch.cat([outputs, out], dim=1)[:, -25:]
    scores = torch.cat([scores, new_score], dim=1)[:, -25:]
    weights = torch.softmax(scores, dim=1)
    context = torch.bmm(weights.unsqueeze(1), outputs).squeeze(1)
    return model.output(context), new_state, outputs, scores


def click_stream(settings: Settings, n: int, concurrency: int) -> list[tuple[str, list[int]]]:
    """(session key, window of dense ids after the click) for ``n`` interleaved events."""
    sessions = replay_sessions(settings, held_out_only=True)
    prefixes: dict[str, list[int]] = {}
    stream = []
    for round_no in range(1 + n // sessions.n_events):
        for key, _seq, item, _behavior in interleave(sessions, concurrency, 1, round_no):
            prefix = prefixes.setdefault(key, [])
            prefix.append(item)
            stream.append((key, prefix[-settings.max_len :]))
            if len(stream) == n:
                return stream
    return stream


def compare_on_stream(
    model: SessionLSTMRecommender,
    warmup: list[tuple[str, list[int]]],
    stream: list[tuple[str, list[int]]],
    batch: int,
    device: torch.device,
    ranker: CandidateRanker | None = None,
) -> dict[str, float]:
    """Events/s of both scorers over ``stream`` in batches (the incremental cache warmed up
    on ``warmup``, the events just before), and how much their logits differ."""
    incremental = IncrementalScorer(model, 25, 256 << 20, device)
    for start in range(0, len(warmup), 1024):  # steady state: sessions already open
        incremental.score([ScoreRequest(k, tuple(i + 1 for i in w)) for k, w in
                           warmup[start : start + 1024]])  # fmt: skip
    incremental.counters.take()
    vectors = IncrementalScorer(model, 25, 256 << 20, device) if ranker is not None else None
    if vectors is not None:
        for start in range(0, len(warmup), 1024):
            vectors.vectors_requests([ScoreRequest(k, tuple(w)) for k, w in
                                      warmup[start : start + 1024]])  # fmt: skip
    full_s = inc_s = max_diff = ann_s = 0.0
    identical = found = 0
    for start in range(0, len(stream), batch):
        part = stream[start : start + batch]
        windows = np.stack([left_pad_window(w) for _, w in part])
        lengths = np.array([len(w) for _, w in part])
        requests = [ScoreRequest(k, tuple(i + 1 for i in w)) for k, w in part]
        t0 = time.perf_counter()
        full = score_windows(model, windows, lengths, device)
        full.topk(20, dim=1)
        if device.type == "cuda":
            torch.cuda.synchronize()
        t1 = time.perf_counter()
        mine = incremental.score(requests)
        mine.topk(20, dim=1)
        if device.type == "cuda":
            torch.cuda.synchronize()
        t2 = time.perf_counter()
        full_s += t1 - t0
        inc_s += t2 - t1
        max_diff = max(max_diff, float((mine - full).abs().max()))
        exact_top = full.topk(20).indices
        identical += int((mine.topk(20).indices == exact_top).all(dim=1).sum())
        if vectors is not None and ranker is not None:
            t3 = time.perf_counter()
            approx = ranker.top_k(vectors.vectors_requests([ScoreRequest(k, tuple(w)) for k, w
                                                            in part]), 20).items  # fmt: skip
            ann_s += time.perf_counter() - t3
            found += int((exact_top.unsqueeze(2) == approx.unsqueeze(1)).any(dim=2).sum())
    n = len(stream)
    counters = incremental.counters
    ann = {} if ranker is None else {
        "ann_events_per_s": n / ann_s, "ann_recall_at_20": found / (20 * n),
    }  # fmt: skip
    return {
        **ann,
        "events": n,
        "full_events_per_s": n / full_s,
        "incremental_events_per_s": n / inc_s,
        "incremental_over_full": full_s / inc_s,
        "max_abs_logit_diff": max_diff,
        "top20_identical_fraction": identical / n,
        "cache_hit_fraction": counters.by_reason.get("hit", 0) / n,
        "rebuilt_fraction": (counters.by_reason.get("new", 0) + counters.by_reason.get("stale", 0))
        / n,
    }


def main() -> None:
    """Run the benchmark and write its JSON."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--model", type=Path, default=Path("artifacts/model.pt"))
    ap.add_argument("--padding-model", type=Path, default=None)
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--events", type=int, default=20_480, help="events at batch 1024")
    ap.add_argument("--concurrency", type=int, default=2_000, help="sessions open at once")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--retrieval", choices=["exact", "ann"], default="exact")
    ap.add_argument("--candidates", type=int, default=200, help="with --retrieval ann")
    args = ap.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        ap.error("--device cuda: torch sees no CUDA device")
    if args.threads < 1 or args.events < 1024 or args.concurrency < 1 or args.candidates < 20:
        ap.error("need --threads >= 1, --events >= 1024, --concurrency >= 1, --candidates >= 20")
    for path in (args.model, args.padding_model):
        if path is not None and not path.is_file():
            ap.error(f"no checkpoint at {path}")
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    model, meta = load_network(args.model, device=device)
    if not model.zero_start:
        ap.error(f"{args.model} is a window_start='padding' model; pass it as --padding-model")
    settings = Settings(seed=meta.seed)
    warmup_events = 10 * args.concurrency  # then ~every open session has clicked before
    stream = click_stream(settings, warmup_events + args.events, args.concurrency)
    warmup, stream = stream[:warmup_events], stream[warmup_events:]
    results: dict[str, Any] = {
        "device": str(device), "threads": args.threads, "concurrency": args.concurrency,
        "batches": {},
    }  # fmt: skip
    ranker = None
    if args.retrieval == "ann":
        ranked = retrieval_scorer(ModelScorer(model, device), args.candidates, args.model)
        ranker = ranked.ranker
        results["candidates"] = ranker.candidates
    for batch in BATCH_SIZES:
        n = min(len(stream), max(2_000, 20 * batch))
        row = compare_on_stream(model, warmup, stream[:n], batch, device, ranker)
        results["batches"][str(batch)] = row
        print(
            f"batch {batch:5d}: full {row['full_events_per_s']:9,.0f} ev/s  incremental "
            f"{row['incremental_events_per_s']:9,.0f} ev/s  ({row['incremental_over_full']:4.2f}x)"
            f"  max |logit diff| {row['max_abs_logit_diff']:.1e}, identical top-20 "
            f"{row['top20_identical_fraction']:.2%}, cache hits {row['cache_hit_fraction']:.0%}"
            + (f"; ANN {row['ann_events_per_s']:9,.0f} ev/s, recall@20 "
               f"{row['ann_recall_at_20']:.4f}" if ranker is not None else "")
        )  # fmt: skip
    if args.padding_model is not None:
        results["padding_model_one_step_cache"] = padding_drift(args.padding_model, device)
    out = args.out or RESULTS / ("scorer.json" if args.device == "cpu" else "scorer-cuda.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"-> {out}")


def padding_drift(path: Path, device: torch.device) -> dict[str, float]:
    """How far a one-step cache drifts from a padding model's logits, whole sessions."""
    model, meta = load_network(path, device=device)
    settings = Settings(seed=meta.seed)
    corpus = load_corpus(settings)
    _, held_out = session_split(len(corpus.sessions), settings.seed)
    sessions = [corpus.sessions[i] for i in held_out]
    hidden, layers = model.hidden_size, model.config.num_layers
    n = min(400, len(sessions))
    agree, max_diff, events = 0, 0.0, 0
    for session in sessions[:n]:
        state = (torch.zeros(layers, 1, hidden, device=device),) * 2
        outputs = torch.zeros(1, 0, hidden, device=device)
        scores = torch.zeros(1, 0, device=device)
        for t, item in enumerate(session):
            approx, state, outputs, scores = one_step_cache(
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
    print(
        f"padding model, one-step cache vs its true logits over {events:,} events: max |logit "
        f"diff| {max_diff:.3f}, identical top-20 in {agree / events:.1%} of events"
    )
    return {
        "events": events,
        "max_abs_logit_diff": max_diff,
        "top20_identical_fraction": agree / events,
    }


if __name__ == "__main__":
    main()
