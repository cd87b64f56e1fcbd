"""Assembling a ready engine from settings: the one place processes get their engine from."""

from __future__ import annotations

import logging

from daoban.settings import Settings
from index.embedder import CachedEmbedder, SentenceTransformerEmbedder
from index.engine import RetrievalEngine
from index.persist import load_index, save_index
from knowledge.store import KnowledgeStore

logger = logging.getLogger(__name__)


def make_engine(settings: Settings) -> RetrievalEngine:
    embedder = CachedEmbedder(
        SentenceTransformerEmbedder(settings.embedding_model_dir), settings.cache_dir / "embeddings.sqlite"
    )
    return RetrievalEngine(embedder, jieba_cache=settings.cache_dir / "jieba")


def build_index(settings: Settings, store: KnowledgeStore) -> RetrievalEngine:
    """Index every published record from scratch (cached embeddings are reused) and save it."""
    engine = make_engine(settings)
    engine.load(store.published(), store.revision(), store.content_hash())
    save_index(engine, settings.index_dir)
    return engine


def open_index(settings: Settings, store: KnowledgeStore) -> RetrievalEngine:
    """Load the saved index, refusing a stale one; callers decide whether to rebuild."""
    engine = make_engine(settings)
    load_index(engine, settings.index_dir, store)
    return engine
