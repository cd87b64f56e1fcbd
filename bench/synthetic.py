"""Synthetic knowledge bases of any size, built from the demo base, for bench/scale.py.

A real base of a million items is mostly the same few thousand items run by
different districts, departments and towns. So synthetic item *i* is demo item
``i % n`` run by a generated place ("临泽县居住证申领"): its name, one alias, one
question and a short summary are the demo texts with the place put in front.
That keeps jieba's vocabulary and BM25's document frequencies realistic.

Vectors are not embedded (that would take days on 2 cores, see bench/scale.py):
each synthetic document gets the e5 vector of the demo document it was made
from, moved by half the difference of two other demo vectors. Differences of
real vectors stay inside e5's narrow cone, so neighbourhoods look like e5's
(a place variant sits at cosine ~0.95 from its source, unrelated texts at
~0.8) rather than like random unit vectors, which no index could cluster.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np

from index.dense import vector_dtype
from index.documents import SearchDoc, documents_for
from knowledge.schema import Item

PLACE_CHARS = "青山临江川平安宁东西南北新城河湖阳泽源丰和兴华清溪桥林峰云水石金银龙凤长永嘉德福寿昌明光高"
PLACE_SUFFIXES = ("区", "县", "市", "镇", "街道", "乡")
FIELDS = ("name", "alias", "question", "summary")
PERTURBATION = 0.5
UPDATED = datetime(2026, 10, 15, 1, 0, tzinfo=timezone.utc)


@dataclass
class Sources:
    """The demo items and, per item and field, the positions of their documents' vectors."""

    items: list[Item]
    docs: dict[tuple[str, str], list[int]]  # (code, field) -> rows of ``vectors``
    vectors: np.ndarray


def make_sources(items: list[Item], docs: list[SearchDoc], vectors: np.ndarray) -> Sources:
    rows: dict[tuple[str, str], list[int]] = {}
    for row, doc in enumerate(docs):
        rows.setdefault((doc.code, doc.field), []).append(row)
    return Sources(items=items, docs=rows, vectors=vectors)


def place_name(i: int) -> str:
    """A distinct, pronounceable place for each i (two characters and a suffix)."""
    n = len(PLACE_CHARS)
    a, b = divmod(i // len(PLACE_SUFFIXES), n)
    return PLACE_CHARS[a % n] + PLACE_CHARS[b] + PLACE_SUFFIXES[i % len(PLACE_SUFFIXES)]


def synthetic_items(size: int, sources: Sources, seed: int = 4) -> tuple[list[Item], list[dict[str, int]]]:
    """``size`` items and, per item, the source vector row of each of its fields."""
    rng = np.random.default_rng(seed)
    items, origins = [], []
    demo = sources.items
    # One fields-set for all: pydantic keeps a set of the given field names per model
    # instance, ~2.2 KB for an item, more than the rest of a synthetic item together.
    fields_set = set(Item.model_fields)
    for i in range(size):
        base = demo[i % len(demo)]
        place = place_name(i // len(demo))
        alias_at = int(rng.integers(len(base.aliases))) if base.aliases else None
        question_at = int(rng.integers(len(base.questions))) if base.questions else None
        item = Item.model_construct(
            _fields_set=fields_set, **{**dict(base), "code": f"SYN-{i:07d}", "name": f"{place}{base.name}",
               "aliases": [f"{place}{base.aliases[alias_at]}"] if alias_at is not None else [],
               "questions": [f"{place}{base.questions[question_at]}"] if question_at is not None else [],
               "summary": f"{place}{base.summary[:40]}", "situations": [], "districts": [],
               "updated_at": UPDATED},
        )
        items.append(item)
        origin = {field: _source_row(sources, base.code, field, at)
                  for field, at in (("name", 0), ("summary", 0), ("alias", alias_at), ("question", question_at))}
        origins.append(origin)
    return items, origins


def _source_row(sources: Sources, code: str, field: str, at: int | None) -> int:
    """The demo document a synthetic field was made from (the name's when the demo deduplicated it away)."""
    rows = sources.docs.get((code, field)) or sources.docs[(code, "name")]
    return rows[min(at or 0, len(rows) - 1)]


def synthetic_documents(items: list[Item], origins: list[dict[str, int]]) -> tuple[list[SearchDoc], np.ndarray]:
    """The engine's documents for ``items`` and, per document, the row of its source vector."""
    docs: list[SearchDoc] = []
    source_rows: list[int] = []
    for item, origin in zip(items, origins):
        for doc in documents_for(item):
            docs.append(doc)
            source_rows.append(origin[doc.field])
    return docs, np.asarray(source_rows, dtype=np.int32)


def synthetic_vectors(source_rows: np.ndarray, base: np.ndarray, seed: int = 5, chunk: int = 50_000) -> np.ndarray:
    """Unit vectors near the source documents' e5 vectors, built in chunks to bound memory,
    in the dtype the engine keeps them in (``vector_dtype``), so none is converted twice."""
    rng = np.random.default_rng(seed)
    out = np.empty((len(source_rows), base.shape[1]), dtype=vector_dtype(len(source_rows)))
    for start in range(0, len(source_rows), chunk):
        rows = source_rows[start : start + chunk]
        a = rng.integers(len(base), size=len(rows))
        b = rng.integers(len(base), size=len(rows))
        block = base[rows] + PERTURBATION * (base[a] - base[b])
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        out[start : start + len(rows)] = block
    return out
