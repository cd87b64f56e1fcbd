"""Hearing that the knowledge base changed, so a worker syncs only when there is something to sync.

Embedded mode has one process per kind and asks the database before every
question (one indexed query). Production mode has several workers: each one
listens on Redis for the revisions writers announce (``knowledge.notify``) and
syncs only after hearing one, plus once a minute in case an announcement was
lost while Redis was away.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Protocol

from knowledge.notify import CHANNEL

logger = logging.getLogger(__name__)


class ChangeSignal(Protocol):
    def should_sync(self) -> bool:
        """True when the base may have changed since the last call that returned True."""


class AlwaysSync:
    def should_sync(self) -> bool:
        return True


class RedisChangeListener:
    def __init__(self, url: str, channel: str = CHANNEL, fallback_s: float = 60.0):
        self._url = url
        self._channel = channel
        self._fallback_s = fallback_s
        self._heard = threading.Event()
        self._last_sync = 0.0
        self._thread = threading.Thread(target=self._listen, name="kb-changes", daemon=True)
        self._thread.start()

    def should_sync(self) -> bool:
        now = time.monotonic()
        if self._heard.is_set() or now - self._last_sync >= self._fallback_s:
            self._heard.clear()
            self._last_sync = now
            return True
        return False

    def _listen(self) -> None:
        import redis

        while True:
            try:
                pubsub = redis.Redis.from_url(self._url, socket_connect_timeout=2.0).pubsub()
                pubsub.subscribe(self._channel)
                self._heard.set()  # (re)connected: whatever happened meanwhile is caught up on once
                for message in pubsub.listen():
                    if message.get("type") == "message":
                        self._heard.set()
            except Exception as exc:
                logger.warning("knowledge-change listener lost Redis (%s); retrying in 2 s", exc.__class__.__name__)
                time.sleep(2.0)
