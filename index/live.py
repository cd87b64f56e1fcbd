"""An engine that follows the knowledge base: the one every long-running process uses.

It opens the saved index on first use (not at import: Sanic pickles the action
server's objects when it spawns workers) and, before each use, applies what
editors published since, so an edit is answered from the next question on.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Protocol

from daoban.settings import Settings, load_settings
from index.changes import AlwaysSync, ChangeSignal, RedisChangeListener
from index.engine import RetrievalEngine
from index.runtime import open_index
from knowledge.runtime import open_store
from knowledge.store import KnowledgeStore


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
                if self._signal.should_sync():
                    self._engine.sync(self._store)
            return self._engine


def change_signal(settings: Settings) -> ChangeSignal:
    """Embedded: check the database before every use. Production: sync when Redis says so."""
    return RedisChangeListener(settings.redis_url) if settings.mode == "production" else AlwaysSync()
