"""The knowledge tests run on both back ends: ``store`` here is parametrised (SQLite, PostgreSQL)."""

from collections.abc import Iterator

import pytest

from knowledge.database import make_engine, migrate
from knowledge.store import KnowledgeStore


@pytest.fixture
def store(database_url: str) -> Iterator[KnowledgeStore]:
    engine = make_engine(database_url)
    migrate(engine)
    yield KnowledgeStore(engine)
    engine.dispose()
