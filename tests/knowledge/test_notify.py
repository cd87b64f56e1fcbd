"""Production mode's change announcements: committed revisions only, and a real Redis round trip."""

from __future__ import annotations

import secrets

from index.changes import RedisChangeListener
from knowledge.database import make_engine, migrate
from knowledge.notify import RedisNotifier, announce_changes
from knowledge.store import KnowledgeStore
from tests.conftest import make_item
from tests.processes_util import wait_until

REDIS_URL = "redis://127.0.0.1:6379/0"


class Recording:
    def __init__(self) -> None:
        self.revisions: list[int] = []

    def published(self, revision: int) -> None:
        self.revisions.append(revision)


def test_each_committed_revision_is_announced_once_and_idle_imports_are_not(database_url):
    engine = make_engine(database_url)
    migrate(engine)
    heard = Recording()
    announce_changes(engine, heard)
    store = KnowledgeStore(engine)
    first = store.import_records([make_item()], actor="t")
    store.import_records([make_item()], actor="t")  # unchanged: rolled back, no revision given out
    second = store.import_records([make_item(summary="新的说明。")], actor="t")
    engine.dispose()
    assert heard.revisions == [first.revision, second.revision] and second.revision > first.revision


def _wait(predicate, timeout_s: float = 5.0) -> bool:
    return bool(wait_until(predicate, timeout_s, interval_s=0.05))


def test_a_worker_hears_an_announcement_through_redis():
    channel = f"daoban-test:{secrets.token_hex(4)}"
    listener = RedisChangeListener(REDIS_URL, channel=channel, fallback_s=3600)
    assert _wait(listener.should_sync)  # the first connection counts as news: catch up once
    assert not listener.should_sync()  # and then nothing until someone announces
    RedisNotifier(REDIS_URL, channel=channel).published(7)
    assert _wait(listener.should_sync)
    assert not listener.should_sync()


def test_production_set_up_creates_its_postgres_database(postgres_database):
    from sqlalchemy import create_engine

    from knowledge.database import create_database_if_missing

    url = postgres_database.set(database=f"daoban_new_{secrets.token_hex(4)}").render_as_string(hide_password=False)
    assert create_database_if_missing(url) is True
    assert create_database_if_missing(url) is False
    admin = create_engine(postgres_database, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE "{url.rsplit("/", 1)[1]}"')
    admin.dispose()
