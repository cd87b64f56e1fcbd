"""Assembling a ready engine from settings: the one place processes get their engine from."""

from __future__ import annotations

import logging
from dataclasses import fields
from pathlib import Path

from daoban.settings import Settings
from index.decision import DecisionPolicy
from index.embedder import CachedEmbedder, SentenceTransformerEmbedder, read_marker
from index.engine import RetrievalEngine
from index.finetune import SHIPPED_POLICY, SHIPPED_RECIPE
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
    """The fusion weights and thresholds calibrated for this model; the untuned e5's otherwise.

    Fine-tuning moves every cosine (a fine-tuned e5 scores unrelated questions
    far lower), so thresholds belong to a model, not to the engine. A model of
    the shipped recipe takes ``SHIPPED_POLICY`` from the code, so re-chosen
    thresholds reach a model trained before them; any other folder may carry a
    ``policy`` in its marker.
    """
    marker = read_marker(model_dir)
    shipped = marker.get("recipe_key") == SHIPPED_RECIPE.key()
    chosen = SHIPPED_POLICY if shipped else marker.get("policy") or {}
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
