"""An index on disk is a folder of plain files plus a manifest.

Loading checks the manifest against the embedding model and the knowledge base
and refuses a stale index rather than answering from it: a citizen must never
get materials from a guide version that is no longer published.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from index.documents import SearchDoc
from index.engine import RetrievalEngine
from index.errors import StaleIndex
from knowledge.store import KnowledgeStore

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
MANIFEST = "manifest.json"


def read_manifest(directory: Path) -> dict:
    path = directory / MANIFEST
    if not path.is_file():
        raise StaleIndex(f"no index at {directory}: run `daoban index build`")
    return json.loads(path.read_text(encoding="utf-8"))


def save_index(engine: RetrievalEngine, directory: Path) -> dict:
    """Write the index next to ``directory`` and swap it in, so readers never see half of it."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".index-", dir=directory.parent))
    docs = engine.documents
    np.save(staging / "vectors.npy", engine.vectors)
    with open(staging / "docs.jsonl", "w", encoding="utf-8") as handle:
        for doc in docs:
            handle.write(json.dumps(asdict(doc), ensure_ascii=False) + "\n")
    manifest = {
        "format": FORMAT_VERSION,
        "model": engine.model_id,
        "kb_hash": engine.kb_hash,
        "revision": engine.revision,
        "records": len(engine.records()),
        "documents": len(docs),
        "dim": int(engine.vectors.shape[1]) if engine.vectors.ndim == 2 else 0,
        "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    (staging / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    old = directory.with_name(directory.name + ".old")
    if directory.exists():
        shutil.rmtree(old, ignore_errors=True)
        os.replace(directory, old)
    os.replace(staging, directory)
    shutil.rmtree(old, ignore_errors=True)
    logger.info("saved index to %s (%d documents, revision %d)", directory, len(docs), engine.revision)
    return manifest


def check_manifest(manifest: dict, model_id: str, directory: Path) -> None:
    if manifest.get("format") != FORMAT_VERSION:
        raise StaleIndex(f"index at {directory} has format {manifest.get('format')}, expected {FORMAT_VERSION}: run `daoban index build`")
    if manifest.get("model") != model_id:
        raise StaleIndex(f"index at {directory} was built with model {manifest.get('model')}, not {model_id}: run `daoban index build`")


def load_index(engine: RetrievalEngine, directory: Path, store: KnowledgeStore) -> dict:
    """Load a saved index; an index a few revisions behind the store is caught up, anything else refused.

    Catching up re-embeds only the records changed since the index was saved, so a
    restart after live edits neither answers from old guides nor re-embeds everything.
    """
    manifest = read_manifest(directory)
    check_manifest(manifest, engine.model_id, directory)
    kb_hash, revision = store.content_hash(), store.revision()
    saved_revision = int(manifest.get("revision", -1))
    if manifest.get("kb_hash") != kb_hash and saved_revision >= revision:
        raise StaleIndex(
            f"index at {directory} was built for another knowledge base (its revision {saved_revision}, "
            f"the database's {revision}): run `daoban index build`"
        )
    vectors = np.load(directory / "vectors.npy")
    with open(directory / "docs.jsonl", encoding="utf-8") as handle:
        docs = [SearchDoc(**json.loads(line)) for line in handle if line.strip()]
    if len(docs) != vectors.shape[0]:
        raise StaleIndex(f"index at {directory} is damaged: {len(docs)} documents but {vectors.shape[0]} vectors")
    engine.load(store.published(), saved_revision, manifest["kb_hash"], docs=docs, vectors=vectors)
    if manifest.get("kb_hash") != kb_hash:
        engine.apply(store.changes_since(saved_revision), kb_hash)
    indexed = {d.code for d in engine.documents}
    known = {r.code for r in engine.records()}
    if indexed != known:
        raise StaleIndex(
            f"index at {directory} does not match the knowledge base ({len(indexed ^ known)} record(s) differ): "
            "run `daoban index build`"
        )
    return manifest
