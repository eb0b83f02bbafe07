"""An inverted-file (IVF) index over a network's output item embeddings (faiss-cpu).

A neural model's score of item ``i`` is ``q . w_i + b_i`` for the session vector ``q``: a
maximum-inner-product search. Appending ``b_i`` and ``sqrt(M - |w_i|^2 - b_i^2)`` (``M`` the
largest squared norm) to each item and ``(1, 0)`` to the query makes it a nearest-neighbour
search in L2 with the same order, which the IVF clustering suits.

faiss-cpu was chosen by measurement (``bench/ann_choice.py``): on one core its IVF-Flat
index built 200,000 items in 13 s against 58 s (faiss HNSW) and 94 s (hnswlib), and served
4-10x more queries a second at the same recall; hnswlib also ships only as source.

The build is deterministic: k-means on a sample drawn with a fixed seed, one thread, so a
consumer and the offline evaluation that each build the index for one checkpoint get the
same index, and search results depend only on the query. ``load_or_build`` keeps the index
beside the checkpoint, validated by a fingerprint of the table it indexes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger("streamrec.model")

FORMAT = 1
SEED = 1234
ITERATIONS = 10
SAMPLE_PER_LIST = 64  # k-means training points per list (faiss warns under 39)
MIN_LIST_SIZE = 39


def augmented(weight: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
    """Items as L2 points whose nearest neighbours are the largest inner products."""
    bias = np.zeros(len(weight), np.float32) if bias is None else bias.astype(np.float32)
    norms = (weight.astype(np.float64) ** 2).sum(1) + bias.astype(np.float64) ** 2
    pad = np.sqrt(np.maximum(norms.max() - norms, 0.0))
    return np.hstack([weight, bias[:, None], pad[:, None]]).astype(np.float32)


def lists_for(n_items: int) -> int:
    """IVF lists for a catalog: about 4 sqrt(n), at least ``MIN_LIST_SIZE`` items a list."""
    return max(1, min(round(4 * math.sqrt(n_items)), n_items // MIN_LIST_SIZE))


def fingerprint(weight: np.ndarray, bias: np.ndarray | None) -> str:
    """What an index is valid for: the table's bytes and the index recipe."""
    digest = hashlib.sha256(f"ivf-flat/{FORMAT}/{SEED}/{ITERATIONS}".encode())
    digest.update(np.ascontiguousarray(weight, dtype=np.float32).tobytes())
    if bias is not None:
        digest.update(np.ascontiguousarray(bias, dtype=np.float32).tobytes())
    return digest.hexdigest()


class IvfIndex:
    """Candidate item ids for session vectors: ``nprobe`` of ``lists`` clusters scanned."""

    def __init__(self, index: Any, print_: str, nprobe: int) -> None:
        self._index = index
        self.fingerprint = print_
        self.lists = int(index.nlist)
        self.nprobe = min(nprobe, self.lists)
        index.nprobe = self.nprobe

    @classmethod
    def build(cls, weight: np.ndarray, bias: np.ndarray | None, nprobe: int = 16) -> IvfIndex:
        """Cluster the items (one thread, fixed seed) and file each under its list."""
        import faiss

        points = augmented(weight, bias)
        lists = lists_for(len(points))
        threads = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(1)
        try:
            index = faiss.IndexIVFFlat(faiss.IndexFlatL2(points.shape[1]), points.shape[1], lists)
            index.cp.seed = SEED
            index.cp.niter = ITERATIONS
            index.cp.max_points_per_centroid = SAMPLE_PER_LIST
            index.cp.min_points_per_centroid = 1
            index.cp.verbose = False
            index.train(points)
            index.add(points)
        finally:
            faiss.omp_set_num_threads(threads)
        return cls(index, fingerprint(weight, bias), nprobe)

    def search(self, vectors: np.ndarray, k: int) -> np.ndarray:
        """The ``k`` candidates (B, k) of session vectors (B, d): dense ids, -1 past the end
        when the scanned lists hold fewer."""
        query = np.zeros((len(vectors), vectors.shape[1] + 2), np.float32)
        query[:, : vectors.shape[1]] = vectors
        query[:, vectors.shape[1]] = 1.0
        _distances, ids = self._index.search(query, k)
        return np.asarray(ids, dtype=np.int64)

    def nbytes(self) -> int:
        """Memory the index holds (its serialised size)."""
        import faiss

        return int(faiss.serialize_index(self._index).nbytes)

    def save(self, path: Path) -> None:
        """Write the index with its fingerprint, atomically."""
        import faiss

        header = json.dumps({"format": FORMAT, "fingerprint": self.fingerprint}).encode()
        body = faiss.serialize_index(self._index).tobytes()
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(len(header).to_bytes(4, "little") + header + body)
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path, expected: str, nprobe: int = 16) -> IvfIndex:
        """The index at ``path``; ``ValueError`` (one line) when it was built for another
        table or recipe."""
        import faiss

        data = path.read_bytes()
        size = int.from_bytes(data[:4], "little")
        try:
            header = json.loads(data[4 : 4 + size])
        except ValueError:
            raise ValueError(f"{path} is not a StreamRec ANN index") from None
        if header.get("format") != FORMAT or header.get("fingerprint") != expected:
            raise ValueError(
                f"{path} was built for another checkpoint or index recipe (fingerprint "
                f"{str(header.get('fingerprint'))[:12]}, this model's {expected[:12]})"
            )
        index = faiss.deserialize_index(np.frombuffer(data[4 + size :], dtype=np.uint8))
        return cls(index, expected, nprobe)


def index_path(checkpoint: Path) -> Path:
    """Where a checkpoint's ANN index is kept: beside it, ``NAME.ann``."""
    return checkpoint.with_name(checkpoint.name + ".ann")


def load_or_build(
    weight: np.ndarray, bias: np.ndarray | None, path: Path | None, nprobe: int = 16
) -> IvfIndex:
    """The index persisted at ``path`` when it matches the table; else built (and written to
    ``path`` when one is given; a mismatched file is refused with one log line and
    replaced)."""
    expected = fingerprint(weight, bias)
    if path is not None and path.exists():
        try:
            return IvfIndex.load(path, expected, nprobe)
        except ValueError as exc:
            log.warning("refusing the ANN index: %s; rebuilding it", exc)
    index = IvfIndex.build(weight, bias, nprobe)
    if path is not None:
        try:
            index.save(path)
        except OSError as exc:
            log.warning(
                "could not keep the ANN index at %s (%s); it is rebuilt at each load", path, exc
            )
    return index
