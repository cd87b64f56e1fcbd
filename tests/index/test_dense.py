import numpy as np
import pytest

from index.dense import DenseIndex


def _unit(rows: int, dim: int, seed: int) -> np.ndarray:
    vectors = np.random.default_rng(seed).normal(size=(rows, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_small_bases_are_searched_exactly():
    vectors = _unit(50, 16, 1)
    index = DenseIndex(vectors, 16)
    scores, ids = index.search(vectors[7:8], 3)
    assert index.kind == "flat" and ids[0][0] == 7 and scores[0][0] == pytest.approx(1.0, abs=1e-5)


def test_large_bases_switch_to_ivf_and_still_find_the_nearest():
    vectors = _unit(3000, 32, 2)
    index = DenseIndex(vectors, 32, exact_limit=1000)
    assert index.kind == "ivf"
    queries = vectors[:50] + 0.05 * _unit(50, 32, 3)
    found = sum(int(index.search(q[None, :], 1)[1][0][0]) == i for i, q in enumerate(queries))
    assert found >= 48  # approximate search: near-perfect recall on near-duplicates


def test_ivf_scores_are_exact_cosines_best_first():
    vectors = _unit(3000, 32, 4)
    index = DenseIndex(vectors, 32, exact_limit=1000)
    query = vectors[11:12]
    scores, ids = index.search(query, 20)
    found = ids[0][ids[0] >= 0]
    assert found[0] == 11
    assert np.allclose(scores[0][: len(found)], vectors[found] @ query[0], atol=1e-6)  # not quantised
    assert list(scores[0][: len(found)]) == sorted(scores[0][: len(found)], reverse=True)


def test_hnsw_stays_available():
    vectors = _unit(2000, 32, 5)
    index = DenseIndex(vectors, 32, kind="hnsw")
    assert index.kind == "hnsw" and int(index.search(vectors[3:4], 1)[1][0][0]) == 3


def test_empty_index_returns_nothing_and_bad_limit_is_refused():
    index = DenseIndex(np.zeros((0, 8), dtype=np.float32), 8)
    scores, ids = index.search(np.ones((1, 8), dtype=np.float32), 5)
    assert scores.shape == (1, 0) and ids.shape == (1, 0)
    with pytest.raises(ValueError, match="exact_limit"):
        DenseIndex(np.zeros((0, 8), dtype=np.float32), 8, exact_limit=0)


def test_engine_keeps_float16_above_the_exact_limit_and_scores_stay_close():
    from index.dense import vector_dtype

    assert vector_dtype(100, exact_limit=1000) is np.float32 and vector_dtype(3000, exact_limit=1000) is np.float16
    vectors = _unit(3000, 32, 6)
    index = DenseIndex(vectors.astype(np.float16), 32, exact_limit=1000)
    scores, ids = index.search(vectors[5:6], 10)
    assert ids[0][0] == 5
    assert np.allclose(scores[0], vectors[ids[0]] @ vectors[5], atol=1e-3)
