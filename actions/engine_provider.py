"""The action server's one retrieval engine, opened on first use rather than at import.

rasa-sdk instantiates actions without arguments, so they reach the engine
through a provider; tests hand an action their own provider instead.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Protocol

from daoban.settings import Settings, load_settings
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


class StoreBackedEngine:
    """Opens the saved index once and catches up with the knowledge base before each use,
    so a guide published by an editor is answered from the next question on."""

    def __init__(self, settings: Settings | None = None):
        self._settings = settings
        self._lock = threading.Lock()
        self._engine: RetrievalEngine | None = None
        self._store: KnowledgeStore | None = None

    def engine(self) -> RetrievalEngine:
        with self._lock:
            if self._engine is None:
                settings = self._settings or load_settings()
                self._store = open_store(settings, migrate_schema=False)
                self._engine = open_index(settings, self._store)
            else:
                assert self._store is not None
                self._engine.sync(self._store)
            return self._engine


_default: StoreBackedEngine | None = None


def default_source() -> EngineSource:
    """Created on first use inside the worker: Sanic pickles actions when it spawns one,
    and a lock or database handle made at import would not survive that."""
    global _default
    if _default is None:
        _default = StoreBackedEngine()
    return _default
