"""Which ANN library serves StreamRec's two-stage retrieval: faiss-cpu or hnswlib, measured.

Synthetic catalog (a Gaussian mixture: items cluster around topics, as trained item
embeddings do), maximum-inner-product search turned into L2 search by one extra coordinate,
K candidates re-scored exactly; per index: build seconds (one thread, for a deterministic
build), query events/s on one core, recall@20 of the re-scored candidates against exact.

    python bench/ann_choice.py --items 200000 --json
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from typing import Any

import numpy as np


def catalog(n: int, d: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Item vectors (n, d) around n/200 topics, and queries near random items."""
    rng = np.random.default_rng(seed)
    topics = rng.normal(size=(max(n // 200, 8), d)).astype(np.float32)
    items = topics[rng.integers(0, len(topics), n)] + 0.7 * rng.normal(size=(n, d))
    queries = items[rng.integers(0, n, 1000)] + 0.5 * rng.normal(size=(1000, d))
    return items.astype(np.float32), queries.astype(np.float32)


def augment(items: np.ndarray) -> tuple[np.ndarray, float]:
    norms = (items**2).sum(1)
    top = float(norms.max())
    return np.hstack([items, np.sqrt(top - norms)[:, None]]).astype(np.float32), top


def exact_top(items: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    scores = queries @ items.T
    return np.argsort(-scores, axis=1)[:, :k]


def recall(found: np.ndarray, items: np.ndarray, queries: np.ndarray, truth: np.ndarray) -> float:
    hits = 0
    for q, cand, true in zip(queries, found, truth):
        cand = cand[cand >= 0]
        top = cand[np.argsort(-(items[cand] @ q))[:20]]
        hits += len(set(top.tolist()) & set(true.tolist()))
    return hits / truth.size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=200_000)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--candidates", type=int, default=200)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    items, queries = catalog(args.items, args.dim, 7)
    aug, _ = augment(items)
    qaug = np.hstack([queries, np.zeros((len(queries), 1), np.float32)])
    truth = exact_top(items, queries, 20)
    k = args.candidates
    rows = []

    import faiss

    faiss.omp_set_num_threads(1)

    def run(
        name: str, build: Callable[[], Any], search: Callable[[Any, np.ndarray], np.ndarray]
    ) -> None:
        t0 = time.perf_counter()
        index = build()
        built = time.perf_counter() - t0
        t0 = time.perf_counter()
        found = np.vstack([search(index, qaug[i : i + 40]) for i in range(0, len(qaug), 40)])
        per_s = len(qaug) / (time.perf_counter() - t0)
        rows.append(
            {
                "index": name,
                "build_s": round(built, 1),
                "queries_per_s": round(per_s),
                "recall_at_20": round(recall(found, items, queries, truth), 4),
            }
        )
        print(rows[-1], flush=True)

    nlist = int(4 * np.sqrt(args.items))

    def ivf(nprobe: int) -> Callable[[], Any]:
        def build() -> Any:
            quant = faiss.IndexFlatL2(aug.shape[1])
            index = faiss.IndexIVFFlat(quant, aug.shape[1], nlist)
            index.train(aug)
            index.add(aug)
            index.nprobe = nprobe
            return index

        return build

    def fsearch(index: Any, q: np.ndarray) -> np.ndarray:
        return index.search(q, k)[1]

    built: dict[str, Any] = {}
    for nprobe in (8, 16, 32):

        def cached(nprobe: int = nprobe) -> Any:
            if "ivf" not in built:
                built["ivf"] = ivf(nprobe)()
            built["ivf"].nprobe = nprobe
            return built["ivf"]

        run(f"faiss IVFFlat nlist={nlist} nprobe={nprobe}", cached, fsearch)

    def fhnsw() -> Any:
        index = faiss.IndexHNSWFlat(aug.shape[1], 32)
        index.hnsw.efConstruction = 80
        index.add(aug)
        index.hnsw.efSearch = k
        return index

    run("faiss HNSWFlat M=32 efC=80 ef=K", fhnsw, fsearch)
    try:
        import hnswlib
    except ImportError:
        print("hnswlib not installed")
    else:

        def hbuild() -> Any:
            index = hnswlib.Index(space="l2", dim=aug.shape[1])
            index.init_index(max_elements=len(aug), M=32, ef_construction=80, random_seed=1)
            index.set_num_threads(1)
            index.add_items(aug, np.arange(len(aug)), num_threads=1)
            index.set_ef(k)
            return index

        def hsearch(index: Any, q: np.ndarray) -> np.ndarray:
            return index.knn_query(q, k=k, num_threads=1)[0].astype(np.int64)

        run("hnswlib M=32 efC=80 ef=K", hbuild, hsearch)
    print(json.dumps({"items": args.items, "dim": args.dim, "candidates": k, "rows": rows}))


if __name__ == "__main__":
    main()
