"""A migrated database on each back end (SQLite, PostgreSQL) and a journal on it; the clock is fixed."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from journal.log import ChatJournal

BEIJING = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=BEIJING)


@pytest.fixture
def journal(engine) -> ChatJournal:
    return ChatJournal(engine)
