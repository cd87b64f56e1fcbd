"""An engine that follows the knowledge base: the one every long-running process uses.

It opens the saved index on first use (not at import: Sanic pickles the action
server's objects when it spawns workers) and, before each use, applies what
editors published since, so an edit is answered from the next question on.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.exc import SQLAlchemyError

from daoban.settings import Settings, load_settings
from index.changes import AlwaysSync, ChangeSignal, RedisChangeListener
from index.engine import RetrievalEngine
from index.runtime import open_index
from knowledge.runtime import open_store
from knowledge.store import KnowledgeStore

logger = logging.getLogger(__name__)


class EngineSource(Protocol):
    def engine(self) -> RetrievalEngine: ...


@dataclass
class StaticEngine:
    """An engine handed over as it is (tests, one-off scripts)."""

    value: RetrievalEngine

    def engine(self) -> RetrievalEngine:
        return self.value


class LiveEngine:
    def __init__(self, settings: Settings | None = None, signal: ChangeSignal | None = None):
        self._settings = settings
        self._signal = signal
        self._lock = threading.Lock()
        self._engine: RetrievalEngine | None = None
        self._store: KnowledgeStore | None = None
        self._sync_owed = False  # a change was signalled but could not be read (database down)

    @classmethod
    def around(cls, engine: RetrievalEngine, store: KnowledgeStore, signal: ChangeSignal) -> LiveEngine:
        """Follow ``store`` with an engine already opened on it (tests, tools that built their own)."""
        live = cls(signal=signal)
        live._engine, live._store = engine, store
        return live

    def engine(self) -> RetrievalEngine:
        with self._lock:
            if self._engine is None:
                settings = self._settings or load_settings()
                self._store = open_store(settings, migrate_schema=False)
                self._engine = open_index(settings, self._store)
                if self._signal is None:
                    self._signal = change_signal(settings)
                self._signal.should_sync()
            else:
                assert self._store is not None and self._signal is not None
                if self._signal.should_sync() or self._sync_owed:
                    self._sync()
            return self._engine

    def _sync(self) -> None:
        """Apply published edits; with the database away, answer from what is loaded and try again next time.

        The engine holds every published record it indexed, so a question can
        still be answered (from the versions it names) while the database is
        down; only the newest edits wait until it is back.
        """
        assert self._engine is not None and self._store is not None
        try:
            self._engine.sync(self._store)
        except SQLAlchemyError as exc:
            if not self._sync_owed:
                logger.warning("cannot read knowledge changes (%s); answering from revision %d until the database "
                               "is back", exc.__class__.__name__, self._engine.revision)
            self._sync_owed = True
            return
        if self._sync_owed:
            logger.info("knowledge changes readable again; at revision %d", self._engine.revision)
        self._sync_owed = False


def change_signal(settings: Settings) -> ChangeSignal:
    """Embedded: check the database before every use. Production: sync when Redis says so."""
    return RedisChangeListener(settings.redis_url) if settings.mode == "production" else AlwaysSync()
