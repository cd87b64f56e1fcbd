"""Telling every process that the knowledge base changed (production mode).

Every write that publishes takes a base-wide revision (``store.next_revision``),
which marks the transaction's connection; when that transaction commits, the
revision is announced on a Redis channel. Workers listen and catch up on only
what changed (``index.live.LiveEngine``), instead of asking the database before
every question. Announcing after commit matters: a worker that hears the news
must be able to read the change.
"""

from __future__ import annotations

import logging
from typing import Protocol

from sqlalchemy import Engine, event

logger = logging.getLogger(__name__)

CHANNEL = "daoban:kb-changes"
PENDING_KEY = "daoban.kb_revision"


class ChangeNotifier(Protocol):
    def published(self, revision: int) -> None: ...


class RedisNotifier:
    def __init__(self, url: str, channel: str = CHANNEL):
        import redis  # only production mode needs it

        self._client = redis.Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0)
        self._channel = channel

    def published(self, revision: int) -> None:
        try:
            self._client.publish(self._channel, str(revision))
        except Exception as exc:  # a lost announcement only delays workers until their periodic check
            logger.warning("could not announce knowledge revision %d on Redis: %s", revision, exc)


def mark_revision(connection_info: dict, revision: int) -> None:
    connection_info[PENDING_KEY] = revision


def announce_changes(engine: Engine, notifier: ChangeNotifier) -> None:
    """Announce each committed revision taken on this engine's connections."""

    def on_commit(connection) -> None:  # type: ignore[no-untyped-def]
        revision = connection.info.pop(PENDING_KEY, None)
        if revision is not None:
            notifier.published(int(revision))

    def on_rollback(connection) -> None:  # type: ignore[no-untyped-def]
        connection.info.pop(PENDING_KEY, None)

    event.listen(engine, "commit", on_commit)
    event.listen(engine, "rollback", on_rollback)
