"""Cost against catalog size: exact scoring vs two-stage retrieval, up to a million items.

For each ``--items`` size N, from one trained lstm-attn checkpoint (``--model``; trained
quickly when missing) with n0 items:

- the catalog is grown to N items: item i >= n0 gets the trained output embedding and bias
  of item ``i mod n0`` plus Gaussian noise (``--noise`` times the table's spread), so the
  table keeps the trained model's cluster structure; the encoder is the trained one. These
  large models are untrained beyond n0: they measure cost and retrieval quality, not
  accuracy;
- query vectors are real session vectors: the trained encoder on a click stream of the
  held-out sessions (500 open at once, as ``bench/scorer.py``), warmed up first;
- scorer events per CPU second on one core, scored as the consumer scores (per-session LSTM
  state cached, ``IncrementalScorer``) (torch and faiss one thread; CPU time, not wall
  time, so other work on the machine slows it less), batches of ``--batch`` events: exact
  (full output layer + top-20) and ANN
  (IVF candidates, ``--candidates`` re-scored exactly, top-20); ANN recall@20 against the
  exact top-20 of the same events;
- index build CPU seconds (one thread, deterministic) and its memory;
- the embedded pipeline (``loadtest`` machinery: real broker, Valkey, one ``streamrec
  consume`` process with ``--retrieval ann``) offered ``--rate`` events/s for ``--seconds``:
  p50/p99 latency and the consumer's peak RSS.

Writes docs/results/scale.json, scale.md (the table) and scale.png (log-log cost against
catalog size); the last stdout line is the JSON.

    python bench/scale.py --items 5000,50000,500000,1000000 --json
        [--model artifacts/model.pt] [--candidates 200] [--rate 1000] [--seconds 20]
        [--no-pipeline]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # `bench` as a package

from bench.scorer import click_stream
from streamrec.cli.validators import number, number_list
from streamrec.config import Settings
from streamrec.model.checkpoint import CheckpointMeta, save_checkpoint
from streamrec.model.evaluation.evaluate import ModelScorer
from streamrec.model.networks.incremental import IncrementalScorer
from streamrec.model.networks.lstm import SessionLSTMRecommender
from streamrec.model.retrieval.index import index_path, load_or_build
from streamrec.model.retrieval.scorer import CandidateRanker
from streamrec.model.scoring import ScoreRequest, exact_top_k
from streamrec.model.zoo.lstm_attn import load_network

RESULTS = Path(__file__).resolve().parent.parent / "docs" / "results"


def rss_mb(pid: int | str = "self", key: str = "VmRSS") -> float:
    """A process's resident memory (``VmHWM``: its peak) in MiB."""
    text = Path(f"/proc/{pid}/status").read_text()
    match = re.search(rf"^{key}:\s+(\d+) kB", text, re.M)
    return int(match.group(1)) / 1024 if match else float("nan")


def grown(base: SessionLSTMRecommender, n_items: int, noise: float, seed: int) -> Any:
    """``base`` with its catalog grown to ``n_items`` (noisy copies of trained items)."""
    config = dataclasses.replace(base.config, n_items=n_items)
    network = SessionLSTMRecommender(config)
    state = base.state_dict()
    n0 = base.n_items
    rng = torch.Generator().manual_seed(seed)
    source = torch.arange(n_items) % n0
    weight, bias = state["output.weight"], state["output.bias"]
    new_weight = weight[source].clone()
    new_bias = bias[source].clone()
    if n_items > n0:
        extra = new_weight[n0:]
        extra += noise * float(weight.std()) * torch.randn(extra.shape, generator=rng)
        new_bias[n0:] += noise * float(bias.std()) * torch.randn(n_items - n0, generator=rng)
    embedding = state["item_embedding.weight"]
    state = {**state, "output.weight": new_weight, "output.bias": new_bias,
             "item_embedding.weight": embedding[torch.cat([torch.arange(n0 + 1),
                                                           1 + source[n0:]])]}  # fmt: skip
    network.load_state_dict(state)
    return network.eval()


def scorer_figures(
    network: SessionLSTMRecommender,
    stream: list[tuple[str, list[int]]],
    warmup: list[tuple[str, list[int]]],
    ranker: CandidateRanker,
    batch: int,
    exact_seconds: float,
) -> dict[str, Any]:
    """CPU events/s on one core over a click stream, as the consumer scores: per-session
    LSTM state cached (``IncrementalScorer``), then the full output layer and top-20 (exact)
    or the session vector's candidates (ANN); ANN recall@20 on the events exact scored."""
    exact_scorer = IncrementalScorer(network, 25, 256 << 20)
    ann_scorer = IncrementalScorer(network, 25, 256 << 20)

    def requests(part: list[tuple[str, list[int]]], shift: int) -> list[ScoreRequest]:
        return [ScoreRequest(k, tuple(i + shift for i in w)) for k, w in part]

    for start in range(0, len(warmup), 1024):  # steady state: sessions already open
        part = warmup[start : start + 1024]
        exact_scorer.score(requests(part, 1), project=False)
        ann_scorer.score(requests(part, 1), project=False)
    parts = [stream[i : i + batch] for i in range(0, len(stream), batch)]
    exact_items, exact_s, exact_n = [], 0.0, 0
    for part in parts:
        t0 = time.process_time()
        exact_items.append(exact_top_k(exact_scorer.score(requests(part, 1)), 20).items)
        exact_s += time.process_time() - t0
        exact_n += len(part)
        if exact_s > exact_seconds and exact_n >= 4 * batch:
            break
    ann_s, found = 0.0, 0
    for i, part in enumerate(parts):
        t0 = time.process_time()
        top = ranker.top_k(ann_scorer.vectors_requests(requests(part, 0)), 20)
        ann_s += time.process_time() - t0
        if i < len(exact_items):
            truth = exact_items[i]
            found += int((truth.unsqueeze(2) == top.items.unsqueeze(1)).any(dim=2).sum())
    return {
        "exact_events_per_s": round(exact_n / exact_s, 1),
        "exact_events": exact_n,
        "ann_events_per_s": round(len(stream) / ann_s, 1),
        "ann_events": len(stream),
        "ann_recall_at_20": round(found / (20 * exact_n), 4),
    }


def pipeline_figures(
    checkpoint: Path, candidates: int, rate: float, seconds: float
) -> dict[str, Any]:
    """The embedded pipeline serving ``checkpoint`` with ANN at ``rate`` for ``seconds``."""
    from rich.console import Console

    from streamrec.pipeline.load_pipeline import load_pipeline
    from streamrec.pipeline.loadtest import run_steps
    from streamrec.producer.replay import ClickProducer
    from streamrec.producer.sources import replay_sessions

    console = Console(stderr=True, soft_wrap=True)
    settings = Settings(model_path=checkpoint, retrieval="ann", candidates=candidates)
    with load_pipeline(settings, 1, console) as pipe:
        sessions = replay_sessions(pipe.settings, held_out_only=True)
        steps = run_steps(pipe.settings, [rate], seconds, pipe.consumers, pipe.pids(),
                          ClickProducer(pipe.settings), console, sessions)  # fmt: skip
        pid = pipe.consumers[0].proc.pid
        rss = rss_mb(pid, "VmHWM")
    step = steps[0]
    return {
        "offered_events_per_s": rate,
        "achieved_events_per_s": step.achieved_events_per_s,
        "keeps_up": step.keeps_up,
        "p50_ms": step.latency_ms.get("p50"),
        "p99_ms": step.latency_ms.get("p99"),
        "consumer_peak_rss_mb": round(rss),
        "consumer_cpu_cores": step.cpu_cores.get("consumer-0"),
    }


def one_size(args: argparse.Namespace, base: Any, meta: Any, streams: Any, n_items: int,
             work: Path) -> dict[str, Any]:  # fmt: skip
    """Every figure for a catalog of ``n_items``."""
    network = grown(base, n_items, args.noise, seed=n_items)
    checkpoint = work / f"scale-{n_items}.pt"
    weight, bias = network.output_table()
    before = rss_mb()
    t0 = time.process_time()
    index = load_or_build(weight.detach().numpy(), bias.detach().numpy(), index_path(checkpoint))
    build_s = time.process_time() - t0
    row: dict[str, Any] = {
        "items": n_items,
        "index_build_s": round(build_s, 2),
        "index_mb": round(index.nbytes() / 2**20, 1),
        "index_rss_growth_mb": round(rss_mb() - before, 1),
        "index_lists": index.lists,
        "nprobe": index.nprobe,
        "table_mb": round(weight.numel() * 4 / 2**20, 1),
    }
    ranker = CandidateRanker(ModelScorer(network), index, args.candidates)
    warmup, stream = streams
    row.update(scorer_figures(network, stream, warmup, ranker, args.batch, args.exact_seconds))
    print(f"{n_items:>9,} items: exact {row['exact_events_per_s']:>8,.0f} ev/s  ANN "
          f"{row['ann_events_per_s']:>8,.0f} ev/s  recall@20 {row['ann_recall_at_20']:.4f}  "
          f"index {row['index_build_s']} s, {row['index_mb']} MiB", flush=True)  # fmt: skip
    if args.pipeline:
        meta_n = CheckpointMeta(**{**meta.__dict__, "n_items": n_items, "digest": "",
                                   "config": network.config.to_dict()})  # fmt: skip
        save_checkpoint(checkpoint, network.state_dict(), meta_n)
        del network, ranker, index
        row["pipeline"] = pipeline_figures(checkpoint, args.candidates, args.rate, args.seconds)
        p = row["pipeline"]
        print(f"{n_items:>9,} items: pipeline at {args.rate:,.0f} ev/s offered: p50 "
              f"{p['p50_ms']} ms, p99 {p['p99_ms']} ms, consumer peak RSS "
              f"{p['consumer_peak_rss_mb']} MiB", flush=True)  # fmt: skip
    for path in (checkpoint, index_path(checkpoint)):
        path.unlink(missing_ok=True)
    return row


def write_table(out: dict[str, Any], path: Path, command: str) -> None:
    """The Markdown table, with the command that produced it."""
    lines = [
        f"`{command}` (lstm-attn; 1-minute load average at the end "
        f"{out['loadavg_1m']} on {os.cpu_count()} cores)",
        "",
        "| items | exact ev/s/core | ANN ev/s/core | ANN recall@20 | lists scanned | index build "
        "s | index MiB | p99 ms at 1,000 ev/s (ANN) | consumer peak RSS MiB |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in out["sizes"]:
        p = r.get("pipeline", {})
        lines.append(
            f"| {r['items']:,} | {r['exact_events_per_s']:,.0f} | {r['ann_events_per_s']:,.0f} "
            f"| {r['ann_recall_at_20']:.4f} | {r['nprobe']}/{r['index_lists']} "
            f"| {r['index_build_s']} | {r['index_mb']} "
            f"| {p.get('p99_ms', 'n/a')} | {p.get('consumer_peak_rss_mb', 'n/a')} |"
        )
    path.write_text("\n".join(lines) + "\n")


def plot(out: dict[str, Any], path: Path) -> None:
    """Log-log: CPU microseconds per event against catalog size, exact and ANN."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = [r["items"] for r in out["sizes"]]
    exact = [1e6 / r["exact_events_per_s"] for r in out["sizes"]]
    ann = [1e6 / r["ann_events_per_s"] for r in out["sizes"]]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.loglog(sizes, exact, "o-", label="exact: full output layer + top-20")
    ax.loglog(sizes, ann, "s-", label=f"ANN: IVF, {out['candidates']} candidates re-scored")
    ref = [exact[0] * s / sizes[0] for s in sizes]
    ax.loglog(sizes, ref, ":", color="grey", label="linear in catalog size")
    ax.axhline(1e6 / 3000, color="red", lw=0.8, ls="--", label="3,000 ev/s per core")
    ax.set_xlabel("catalog size (items)")
    ax.set_ylabel("CPU time per event (µs, one core)")
    ax.set_title("Scoring cost against catalog size (session state cached, as the consumer)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    """Every size in turn; a line each, then the files and the JSON."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--items", type=number_list(number(int, above=0)),
                    default=[5000, 50000, 500000, 1000000])  # fmt: skip
    ap.add_argument("--model", type=Path, default=Path("artifacts/model.pt"))
    ap.add_argument("--candidates", type=number(int, above=19), default=200)
    ap.add_argument("--queries", type=number(int, above=0), default=2000)
    ap.add_argument("--batch", type=number(int, above=0), default=40)
    ap.add_argument("--exact-seconds", type=number(float, above=0), default=15.0)
    ap.add_argument("--noise", type=number(float, above=0), default=0.5)
    ap.add_argument("--rate", type=number(float, above=0), default=1000.0)
    ap.add_argument("--seconds", type=number(float, above=0), default=20.0)
    ap.add_argument("--pipeline", action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument("--json", action="store_true", help="last stdout line: the JSON")
    args = ap.parse_args()
    if not args.model.is_file():
        ap.error(f"no checkpoint at {args.model} (train one: streamrec train --out PATH)")
    torch.set_num_threads(1)
    base, meta = load_network(args.model)
    if base.n_items > min(args.items):
        ap.error(f"--items must be >= the checkpoint's {base.n_items} items")
    concurrency = 500  # sessions open at once in the click stream
    events = click_stream(Settings(seed=meta.seed), 10 * concurrency + args.queries, concurrency)
    streams = (events[: 10 * concurrency], events[10 * concurrency :])
    with tempfile.TemporaryDirectory(prefix="streamrec-scale-") as tmp:
        sizes = [one_size(args, base, meta, streams, n, Path(tmp)) for n in args.items]
    out = {
        "model": str(args.model), "trained_items": base.n_items, "candidates": args.candidates,
        "batch": args.batch, "queries": len(streams[1]), "noise": args.noise,
        "rate": args.rate, "seconds": args.seconds, "sizes": sizes,
        "loadavg_1m": round(os.getloadavg()[0], 2),
        "query_vectors": "trained lstm-attn session vectors, held-out sessions' click stream",
        "catalog": "trained output embeddings; items beyond them noisy copies (untrained)",
    }  # fmt: skip
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "scale.json").write_text(json.dumps(out, indent=2))
    command = "python bench/scale.py --items " + ",".join(str(n) for n in args.items) + " --json"
    write_table(out, RESULTS / "scale.md", command)
    plot(out, RESULTS / "scale.png")
    print(f"-> {RESULTS / 'scale.md'}, {RESULTS / 'scale.png'}", flush=True)
    print(json.dumps(out) if args.json else "")


if __name__ == "__main__":
    main()
