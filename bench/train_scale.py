"""Training cost at large catalogs: full-catalog cross-entropy against ``--loss sampled``.

The generated sessions' training examples (their items keep their ids) are trained by a
network whose catalog has ``--items`` items, so every step pays for the large output layer
(and the embedding table) as it would on a real catalog that size; the data's own items
only decide what is learned, not what a step costs. Per architecture and loss: one epoch
over ``--max-train-sessions`` training sessions when ``--epoch`` (the sampled loss; the
full loss is timed over ``--steps`` batches and projected), seconds per batch, and the
projected epoch over the whole training side of the default generated data.

    python bench/train_scale.py --items 1000000 [--architectures lstm-attn,narm,sasrec]
        [--steps 3] [--max-train-sessions 600] [--threads 2] [--json]

Last stdout line: JSON. Measured under load when other work shares the cores: say so.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from streamrec.config import Settings
from streamrec.model.data.examples import PrefixExamples
from streamrec.model.data.loading import prepare_data
from streamrec.model.networks.lstm import ModelConfig, SessionLSTMRecommender
from streamrec.model.networks.narm import NarmConfig, NarmNetwork
from streamrec.model.networks.sasrec import SasRecConfig, SasRecNetwork, sequence_loss
from streamrec.model.training.sampled import PopularitySampler, sampled_softmax_loss
from streamrec.model.training.trainer import length_bucketed_batches

RESULTS = Path(__file__).resolve().parent.parent / "docs" / "results"
Step = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


def make_step(name: str, n_items: int, sampler: PopularitySampler | None) -> tuple[Step, Any]:
    """A loss for one batch (windows, lengths, targets) and the network it trains."""
    if name == "lstm-attn":
        lstm = SessionLSTMRecommender(ModelConfig(n_items=n_items))

        def lstm_loss(x: torch.Tensor, n: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            if sampler is None:
                return torch.nn.functional.cross_entropy(lstm.forward_bucketed(x, n), y)
            vectors = lstm.forward_bucketed(x, n, project=False)
            return sampled_softmax_loss(vectors, y, lstm.output_table(), sampler)

        return lstm_loss, lstm
    if name == "narm":
        narm = NarmNetwork(NarmConfig(n_items=n_items))

        def narm_loss(x: torch.Tensor, n: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            x = x[:, -int(n[0]) :]
            if sampler is None:
                return torch.nn.functional.cross_entropy(narm(x), y)
            return sampled_softmax_loss(narm.window_vectors(x), y, narm.output_table(), sampler)

        return narm_loss, narm
    sasrec = SasRecNetwork(SasRecConfig(n_items=n_items))

    def sasrec_loss(x: torch.Tensor, n: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return sequence_loss(sasrec, x, y[:, None].expand(-1, x.shape[1]).contiguous(), sampler)

    return sasrec_loss, sasrec


def time_training(
    name: str, loss: str, n_items: int, train: PrefixExamples, steps: int | None
) -> dict[str, Any]:
    """Train ``steps`` batches (None: one epoch) of 256; seconds and seconds per batch."""
    sampler = PopularitySampler(train.targets, n_items) if loss == "sampled" else None
    step, network = make_step(name, n_items, sampler)
    optimizer = torch.optim.Adam(network.parameters(), lr=1e-3)
    batches = list(length_bucketed_batches(train.lengths, 256, np.random.default_rng(0)))
    chosen = batches if steps is None else batches[:steps]
    windows, lengths = torch.from_numpy(train.windows), torch.from_numpy(train.lengths)
    targets = torch.from_numpy(train.targets)
    started = time.perf_counter()
    for idx_np in chosen:
        idx = torch.from_numpy(idx_np)
        optimizer.zero_grad()
        value = step(windows[idx], lengths[idx], targets[idx])
        value.backward()
        optimizer.step()
    seconds = time.perf_counter() - started
    return {
        "architecture": name, "loss": loss, "items": n_items, "batches": len(chosen),
        "epoch_batches": len(batches), "seconds": round(seconds, 1),
        "seconds_per_batch": round(seconds / len(chosen), 3), "final_loss": float(value),
    }  # fmt: skip


def main() -> None:
    """Time each architecture and loss; one line each, JSON last."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--items", type=int, default=1_000_000)
    ap.add_argument("--architectures", default="lstm-attn,narm,sasrec")
    ap.add_argument("--steps", type=int, default=3, help="batches timed with the full loss")
    ap.add_argument("--max-train-sessions", type=int, default=600)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if args.items < 5000 or args.steps < 1 or args.max_train_sessions < 1:
        ap.error("need --items >= 5000 (the generated catalog), --steps >= 1, sessions >= 1")
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    whole = prepare_data(Settings(threads=args.threads)).train
    data = prepare_data(Settings(threads=args.threads, max_train_sessions=args.max_train_sessions))
    rows = []
    for name in args.architectures.split(","):
        for loss, steps in (("sampled", None), ("full", args.steps)):
            row = time_training(name, loss, args.items, data.train, steps)
            scale = len(whole) / max(len(data.train), 1)
            row["projected_full_data_epoch_s"] = round(row["seconds_per_batch"] *
                                                       row["epoch_batches"] * scale)  # fmt: skip
            rows.append(row)
            print(f"{name:9s} {loss:7s} {args.items:>9,} items: {row['batches']} batches in "
                  f"{row['seconds']} s ({row['seconds_per_batch']} s a batch; an epoch of "
                  f"{len(data.train):,} examples "
                  f"{row['seconds_per_batch'] * row['epoch_batches']:.0f}"
                  f" s; of all {len(whole):,}: ~{row['projected_full_data_epoch_s']} s)",
                  flush=True)  # fmt: skip
    out = {"items": args.items, "threads": args.threads, "train_examples": len(data.train),
           "all_train_examples": len(whole), "rows": rows,
           "loadavg_1m": round(os.getloadavg()[0], 2)}  # fmt: skip
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "train-scale.json").write_text(json.dumps(out, indent=2))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
