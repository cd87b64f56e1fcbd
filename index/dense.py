"""Dense vector search over document embeddings (faiss, inner product on unit vectors).

Exact search (``flat``) is used up to ``exact_limit`` vectors. Above it an
inverted file (``ivf``) of 8-bit scalar-quantised vectors keeps query time flat:
a query scans only the ``nprobe`` nearest of ``nlist`` clusters. Its candidates
are then rescored with the vectors the engine keeps anyway (float16 above the
limit, see ``vector_dtype``), so the scores the decision thresholds see are
cosines, not quantised ones, and the index costs a quarter of float32 vectors'
memory instead of a second copy.

Why IVF and not HNSW above the limit (bench/scale.py, docs/benchmarks.md): on
400k synthetic vectors with 2 cores, HNSW (M 32) took 39 s to build against IVF's
3 s, for recall@10 0.957 against 0.969 (nprobe 16); IVF built the 4M vectors of
1M items in ~1 min. Exact search costs ~0.09 ms per 1,000 vectors a query, so
the 200k limit keeps it under ~20 ms. ``hnsw`` stays selectable for comparison.
"""

from __future__ import annotations

import math
import os

import faiss
import numpy as np

DEFAULT_EXACT_LIMIT = 200_000
HNSW_NEIGHBOURS = 32
IVF_TRAIN_PER_LIST = 64  # k-means sample: 64 vectors a cluster (faiss warns below 39)
IVF_PROBE_FRACTION = 1 / 32  # clusters scanned per query, of nlist
IVF_MIN_PROBES = 16
# One query is searched on one thread: faiss's OpenMP threads wait for each other, so
# on a busy 2-core machine two threads made a 40k-vector exact search 3x slower (p50
# 10 ms against 3 ms) and its p95 7x. Building, one big batch, uses every core.
SEARCH_THREADS = 1
ADD_BATCH = 262_144
BUILD_THREADS = os.cpu_count() or 1


def vector_dtype(size: int, exact_limit: int = DEFAULT_EXACT_LIMIT) -> type:
    """How the engine keeps ``size`` document vectors: float32 for exact search, float16 above.

    Above the limit the vectors serve only to rescore the IVF's candidates, and a
    float16 cosine is within 1e-3 of the float32 one (typically 1e-5), far inside
    the decision's margins, while it halves the largest block of memory (6 GB of
    float32 for the 4M documents of a million items).
    """
    return np.float32 if size <= exact_limit else np.float16


def ivf_lists(size: int) -> int:
    """Clusters for ``size`` vectors: a power of two near sqrt(size), between 16 and 4096."""
    return int(min(4096, max(16, 2 ** round(math.log2(max(size, 1)) / 2))))


class DenseIndex:
    def __init__(self, vectors: np.ndarray, dim: int, exact_limit: int = DEFAULT_EXACT_LIMIT,
                 ef_search: int = 128, kind: str | None = None):
        if exact_limit < 1:
            raise ValueError(f"exact_limit must be >= 1, got {exact_limit}")
        self.dim = dim
        self.size = int(vectors.shape[0]) if vectors.ndim == 2 else 0
        self.kind = kind or ("flat" if self.size <= exact_limit else "ivf")
        self._vectors = np.ascontiguousarray(vectors) if self.size else vectors  # float16 kept as is (ivf)
        self._index = _build(self._vectors, dim, self.kind, ef_search)

    def search(self, query: np.ndarray, depth: int) -> tuple[np.ndarray, np.ndarray]:
        """Scores and document positions of the ``depth`` nearest documents (-1 pads)."""
        if not self.size:
            return np.zeros((1, 0), dtype=np.float32), np.zeros((1, 0), dtype=np.int64)
        query = np.ascontiguousarray(query, dtype=np.float32)
        faiss.omp_set_num_threads(SEARCH_THREADS)
        scores, ids = self._index.search(query, min(depth, self.size))
        if self.kind == "ivf":
            scores, ids = self._rescore(query[0], ids[0])
        return scores, ids

    def _rescore(self, query: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Exact inner products for the quantised index's candidates, best first."""
        found = ids[ids >= 0]
        exact = self._vectors[found].astype(np.float32) @ query
        order = np.argsort(-exact, kind="stable")
        scores = np.full((1, len(ids)), -np.inf, dtype=np.float32)
        out = np.full((1, len(ids)), -1, dtype=np.int64)
        scores[0, : len(found)], out[0, : len(found)] = exact[order], found[order]
        return scores, out


def _build(vectors: np.ndarray, dim: int, kind: str, ef_search: int) -> faiss.Index:
    faiss.omp_set_num_threads(BUILD_THREADS)
    size = int(vectors.shape[0]) if vectors.ndim == 2 else 0
    if kind == "flat":
        index: faiss.Index = faiss.IndexFlatIP(dim)
    elif kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, HNSW_NEIGHBOURS, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 64
        index.hnsw.efSearch = ef_search
    elif kind == "ivf":
        nlist = ivf_lists(size)
        index = faiss.IndexIVFScalarQuantizer(faiss.IndexFlatIP(dim), dim, nlist, faiss.ScalarQuantizer.QT_8bit,
                                              faiss.METRIC_INNER_PRODUCT)
        sample = min(size, IVF_TRAIN_PER_LIST * nlist)
        rows = np.sort(np.random.default_rng(0).choice(size, size=sample, replace=False))
        index.train(np.ascontiguousarray(vectors[rows], dtype=np.float32))
        index.nprobe = max(IVF_MIN_PROBES, int(nlist * IVF_PROBE_FRACTION))
    else:
        raise ValueError(f"unknown dense index kind {kind!r}")
    for start in range(0, size, ADD_BATCH):  # batches, so float16 vectors are widened a slice at a time
        index.add(np.ascontiguousarray(vectors[start : start + ADD_BATCH], dtype=np.float32))
    return index
