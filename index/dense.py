"""Dense vector search over document embeddings (faiss, inner product on unit vectors).

Exact search is used up to ``exact_limit`` vectors; above it an HNSW graph keeps
query time flat as the base grows (measured in bench/scale.py). Rebuilding is a
copy of the vectors into a fresh index, done whenever documents change.
"""

from __future__ import annotations

import faiss
import numpy as np

DEFAULT_EXACT_LIMIT = 200_000
HNSW_NEIGHBOURS = 32


class DenseIndex:
    def __init__(self, vectors: np.ndarray, dim: int, exact_limit: int = DEFAULT_EXACT_LIMIT, ef_search: int = 128):
        if exact_limit < 1:
            raise ValueError(f"exact_limit must be >= 1, got {exact_limit}")
        self.dim = dim
        self.size = int(vectors.shape[0]) if vectors.ndim == 2 else 0
        if self.size <= exact_limit:
            self._index: faiss.Index = faiss.IndexFlatIP(dim)
            self.kind = "flat"
        else:
            hnsw = faiss.IndexHNSWFlat(dim, HNSW_NEIGHBOURS, faiss.METRIC_INNER_PRODUCT)
            hnsw.hnsw.efConstruction = 64
            hnsw.hnsw.efSearch = ef_search
            self._index = hnsw
            self.kind = "hnsw"
        if self.size:
            self._index.add(np.ascontiguousarray(vectors, dtype=np.float32))

    def search(self, query: np.ndarray, depth: int) -> tuple[np.ndarray, np.ndarray]:
        """Scores and document positions of the ``depth`` nearest documents (-1 pads)."""
        if not self.size:
            return np.zeros((1, 0), dtype=np.float32), np.zeros((1, 0), dtype=np.int64)
        return self._index.search(np.ascontiguousarray(query, dtype=np.float32), min(depth, self.size))
