"""Seconds per epoch for training and evaluation: the seed's way vs StreamRec's, in one run.

Both sides use the same data (seed 42, the seed's example split), the same model and recipe,
and the same thread count. Training is timed on a random sample of batches of each side's own
epoch and scaled to a full epoch; evaluation is timed on the same validation examples.

    python bench/train.py [--batches 40] [--eval-examples 8000] [--threads 2] [--full-epoch]

Writes bench/results/train.json and prints the ratios.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from streamrec.config import Settings
from streamrec.model.data.examples import PrefixExamples
from streamrec.model.data.loading import prepare_data
from streamrec.model.evaluation.evaluate import ModelScorer, evaluate
from streamrec.model.networks.lstm import ModelConfig, SessionLSTMRecommender
from streamrec.model.training.trainer import (
    TrainConfig,
    Trainer,
    count_batches,
    length_bucketed_batches,
)

RESULTS = Path(__file__).parent / "results"


def seed_style_batches(train: PrefixExamples, batch_size: int, rng: np.random.Generator) -> list:
    """The seed's DataLoader path: one (tensor, tensor) per example, then default collate."""
    order = rng.permutation(len(train))
    batches = []
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        batches.append(idx)
    return batches


def collate_like_seed(train: PrefixExamples, idx: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-example tensors as the seed's Dataset.__getitem__ builds them, then stacked."""
    xs, ys = [], []
    for i in idx:
        length = int(train.lengths[i])
        prefix = train.windows[i, -length:].tolist()
        padded = [0] * (train.windows.shape[1] - length) + prefix
        xs.append(torch.tensor(padded, dtype=torch.long))
        ys.append(torch.tensor(int(train.targets[i]), dtype=torch.long))
    return torch.stack(xs), torch.stack(ys)


def time_seed_training(
    model: SessionLSTMRecommender, train: PrefixExamples, n_batches: int, rng: np.random.Generator
) -> float:
    """Seconds per batch of the seed's loop (padded forward over all 25 steps)."""
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    criterion = nn.CrossEntropyLoss()
    batches = seed_style_batches(train, 256, rng)[: n_batches + 2]
    model.train()
    elapsed = 0.0
    for i, idx in enumerate(batches):
        t0 = time.perf_counter()
        x, y = collate_like_seed(train, idx)
        optimizer.zero_grad()
        logits, _ = model(x)
        loss = criterion(logits, y)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), max_norm=5.0)
        optimizer.step()
        loss.item()
        if i >= 2:  # warm-up
            elapsed += time.perf_counter() - t0
    return elapsed / n_batches


def time_our_training(
    model: SessionLSTMRecommender, train: PrefixExamples, n_batches: int, rng: np.random.Generator
) -> float:
    """Seconds per batch of StreamRec's trainer loop on a random sample of its batches."""
    trainer = Trainer(model, TrainConfig(), "cpu")
    all_batches = list(length_bucketed_batches(train.lengths, 256, rng))
    pick = rng.choice(len(all_batches), size=min(n_batches + 2, len(all_batches)), replace=False)
    sample = [all_batches[i] for i in pick]
    windows, lengths = torch.from_numpy(train.windows), torch.from_numpy(train.lengths)
    targets = torch.from_numpy(train.targets)
    model.train()
    elapsed = 0.0
    for i, idx_np in enumerate(sample):
        t0 = time.perf_counter()
        idx = torch.from_numpy(idx_np)
        trainer.optimizer.zero_grad()
        loss = trainer.criterion(model.forward_bucketed(windows[idx], lengths[idx]), targets[idx])
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), max_norm=5.0)
        trainer.optimizer.step()
        loss.item()
        if i >= 2:
            elapsed += time.perf_counter() - t0
    return elapsed / (len(sample) - 2)


def time_seed_evaluation(model: SessionLSTMRecommender, val: PrefixExamples) -> float:
    """Seconds for the seed's per-example evaluation loop over ``val``."""
    model.eval()
    hits_10 = hits_20 = total = 0
    rr: list[float] = []
    t0 = time.perf_counter()
    with torch.no_grad():
        for start in range(0, len(val), 256):
            idx = np.arange(start, min(start + 256, len(val)))
            x, y = collate_like_seed(val, idx)
            logits, _ = model(x)
            _, top_20 = logits.topk(20, dim=1)
            for j in range(y.shape[0]):
                target = y[j].item()
                top = top_20[j].tolist()
                hits_10 += target in top[:10]
                if target in top:
                    hits_20 += 1
                    rr.append(1.0 / (top.index(target) + 1))
                else:
                    rr.append(0.0)
                total += 1
    return time.perf_counter() - t0


def time_metric_loops(model: SessionLSTMRecommender, val: PrefixExamples) -> tuple[float, float]:
    """Seconds for the ranking metrics alone on the same logits: (seed's loop, vectorised)."""
    from streamrec.model.evaluation.ranking import GroupedTotals, ranks_from_scores

    model.eval()
    with torch.no_grad():
        logits, _ = model(torch.from_numpy(val.windows))
    targets = torch.from_numpy(val.targets)
    t0 = time.perf_counter()
    _, top_20 = logits.topk(20, dim=1)
    hits_10 = 0
    rr: list[float] = []
    for j in range(targets.shape[0]):
        target = targets[j].item()
        top = top_20[j].tolist()
        hits_10 += target in top[:10]
        rr.append(1.0 / (top.index(target) + 1) if target in top else 0.0)
    seed_loop = time.perf_counter() - t0
    t0 = time.perf_counter()
    GroupedTotals().add(ranks_from_scores(logits, targets), [None] * len(targets))
    vectorised = time.perf_counter() - t0
    return seed_loop, vectorised


def main() -> None:
    """Run the benchmark and write its JSON."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--batches", type=int, default=40, help="timed training batches per side")
    ap.add_argument("--eval-examples", type=int, default=8000, help="validation examples timed")
    ap.add_argument("--threads", type=int, default=2, help="torch threads for both sides")
    ap.add_argument("--full-epoch", action="store_true", help="also time one whole epoch of ours")
    ap.add_argument("--out", type=Path, default=RESULTS / "train.json")
    args = ap.parse_args()
    if args.batches < 1 or args.eval_examples < 1 or args.threads < 1:
        ap.error("--batches, --eval-examples and --threads must be >= 1")

    torch.set_num_threads(args.threads)
    settings = Settings(split="example", threads=args.threads)
    data = prepare_data(settings)
    n_train_batches_seed = -(-len(data.train) // 256)
    n_train_batches_ours = count_batches(data.train.lengths, 256)
    rng = np.random.default_rng(0)
    val = data.val.subset(np.arange(min(args.eval_examples, len(data.val))))

    torch.manual_seed(0)
    model = SessionLSTMRecommender(ModelConfig(window_start="padding"))
    print(f"timing {args.batches} training batches per side, threads={args.threads} ...")
    seed_batch = time_seed_training(model, data.train, args.batches, rng)
    ours_batch = time_our_training(model, data.train, args.batches, rng)
    seed_eval = time_seed_evaluation(model, val)
    t0 = time.perf_counter()
    evaluate(ModelScorer(model), val, data.corpus.behaviors)
    ours_eval = time.perf_counter() - t0
    scale = len(data.val) / len(val)
    metric_seed, metric_ours = time_metric_loops(model, val)

    result: dict[str, Any] = {
        "threads": args.threads,
        "machine": platform.processor() or platform.machine(),
        "torch": torch.__version__,
        "n_train": len(data.train),
        "n_val": len(data.val),
        "seed": {
            "train_s_per_batch": seed_batch,
            "train_batches_per_epoch": n_train_batches_seed,
            "train_s_per_epoch": seed_batch * n_train_batches_seed,
            "eval_s_per_epoch": seed_eval * scale,
        },
        "streamrec": {
            "train_s_per_batch": ours_batch,
            "train_batches_per_epoch": n_train_batches_ours,
            "train_s_per_epoch": ours_batch * n_train_batches_ours,
            "eval_s_per_epoch": ours_eval * scale,
        },
    }
    if args.full_epoch:
        trainer = Trainer(model, TrainConfig(), "cpu")
        t0 = time.perf_counter()
        trainer.train_epoch(data.train)
        result["streamrec"]["train_s_full_epoch_measured"] = time.perf_counter() - t0
    s, o = result["seed"], result["streamrec"]
    s["epoch_s"] = s["train_s_per_epoch"] + s["eval_s_per_epoch"]
    o["epoch_s"] = o["train_s_per_epoch"] + o["eval_s_per_epoch"]
    s["metric_s_per_epoch"] = metric_seed * scale
    o["metric_s_per_epoch"] = metric_ours * scale
    result["ratios"] = {
        "train_speedup": s["train_s_per_epoch"] / o["train_s_per_epoch"],
        "eval_speedup": s["eval_s_per_epoch"] / o["eval_s_per_epoch"],
        "metric_speedup": metric_seed / metric_ours,
        "epoch_speedup": s["epoch_s"] / o["epoch_s"],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    for side in ("seed", "streamrec"):
        r = result[side]
        print(
            f"{side:9s}: train {r['train_s_per_epoch']:7.1f} s/epoch "
            f"({r['train_s_per_batch'] * 1000:.0f} ms x {r['train_batches_per_epoch']} batches), "
            f"eval {r['eval_s_per_epoch']:6.1f} s/epoch"
        )
    ratios = result["ratios"]
    print(
        f"ranking metrics alone on the same logits: seed's per-example loop "
        f"{s['metric_s_per_epoch']:.2f} s/epoch, vectorised {o['metric_s_per_epoch']:.3f} s/epoch"
    )
    print(
        f"speed-up: training {ratios['train_speedup']:.2f}x, evaluation "
        f"{ratios['eval_speedup']:.1f}x (metrics alone {ratios['metric_speedup']:.0f}x), "
        f"whole epoch {ratios['epoch_speedup']:.2f}x -> {args.out}"
    )


if __name__ == "__main__":
    main()
