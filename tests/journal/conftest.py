"""A migrated database on each back end (SQLite, PostgreSQL) and a journal on it; the clock is fixed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine

from journal.log import ChatJournal
from knowledge.database import make_engine, migrate

BEIJING = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=BEIJING)


@pytest.fixture
def engine(database_url) -> Iterator[Engine]:
    engine = make_engine(database_url)
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def journal(engine) -> ChatJournal:
    return ChatJournal(engine)
