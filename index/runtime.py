"""Assembling a ready engine from settings: the one place processes get their engine from."""

from __future__ import annotations

import json
import logging
from dataclasses import fields
from pathlib import Path

from daoban.settings import Settings
from index.decision import DecisionPolicy
from index.embedder import CachedEmbedder, SentenceTransformerEmbedder
from index.engine import RetrievalEngine
from index.persist import load_index, save_index
from knowledge.store import KnowledgeStore

logger = logging.getLogger(__name__)


def make_engine(settings: Settings) -> RetrievalEngine:
    embedder = CachedEmbedder(
        SentenceTransformerEmbedder(settings.embedding_model_dir), settings.cache_dir / "embeddings.sqlite"
    )
    return RetrievalEngine(embedder, policy=policy_for(settings.embedding_model_dir),
                           jieba_cache=settings.cache_dir / "jieba")


def policy_for(model_dir: Path) -> DecisionPolicy:
    """The thresholds calibrated for this model, from its ``daoban_source.json``; the shipped ones otherwise.

    Fine-tuning moves every cosine (a fine-tuned e5 scores unrelated questions
    far lower), so thresholds belong to a model, not to the engine.
    """
    marker = model_dir / "daoban_source.json"
    if not marker.is_file():
        return DecisionPolicy()
    chosen = json.loads(marker.read_text(encoding="utf-8")).get("policy") or {}
    known = {f.name for f in fields(DecisionPolicy)}
    policy = DecisionPolicy(**{k: v for k, v in chosen.items() if k in known})
    if chosen:
        logger.info("decision thresholds of %s: %s", model_dir.name, chosen)
    return policy


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
