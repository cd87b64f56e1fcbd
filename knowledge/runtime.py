"""Opening the store from settings, migrated to the current schema."""

from __future__ import annotations

from daoban.settings import Settings
from knowledge.database import make_engine, migrate
from knowledge.notify import RedisNotifier, announce_changes
from knowledge.store import KnowledgeStore


def open_store(settings: Settings, *, migrate_schema: bool = True) -> KnowledgeStore:
    engine = make_engine(settings.sqlalchemy_url)
    if migrate_schema:
        migrate(engine)
    if settings.mode == "production":
        announce_changes(engine, RedisNotifier(settings.redis_url))
    return KnowledgeStore(engine)
