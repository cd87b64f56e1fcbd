"""What the channel remembers between requests: bounded in size and in time.

The WeChat server gives up on a request after 5 seconds and sends the same
message again, up to three times; each message is answered once, so the
answer in progress (or given) is kept under its MsgId. With several API
workers a retry may reach another worker: ``RedisClaims`` lets the first
worker to see a MsgId own it, and the others answer ``success`` (the owner
delivers the answer, through the customer-service API once WeChat has given
up on its request). The same claims, under their own prefix and lifetime,
refuse a signed request used twice (``service.wechat.replay``), where
``LocalOnce`` is the one-worker form. Everything here runs
on the server's event loop and never awaits between a look-up and the write
that follows it, which is what makes it safe for concurrent requests without
a lock.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, Literal, Protocol, TypeVar

logger = logging.getLogger(__name__)
K = TypeVar("K")
V = TypeVar("V")

Route = Literal["open", "passive", "later"]


class ExpiringMap(Generic[K, V]):
    """A mapping that forgets entries ``ttl_s`` after they were written, and its oldest beyond ``max_entries``."""

    def __init__(self, *, max_entries: int, ttl_s: float, clock: Callable[[], float] = time.monotonic):
        if max_entries < 1:
            raise ValueError(f"max_entries must be >= 1, got {max_entries}")
        if ttl_s <= 0:
            raise ValueError(f"ttl_s must be > 0, got {ttl_s}")
        self._entries: OrderedDict[K, tuple[float, V]] = OrderedDict()
        self._max = max_entries
        self._ttl = ttl_s
        self._clock = clock

    def __len__(self) -> int:
        self._expire()
        return len(self._entries)

    def get(self, key: K) -> V | None:
        self._expire()
        entry = self._entries.get(key)
        return entry[1] if entry is not None else None

    def put(self, key: K, value: V) -> None:
        self._entries.pop(key, None)
        self._entries[key] = (self._clock(), value)
        self._expire()
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    def pop(self, key: K) -> V | None:
        entry = self._entries.pop(key, None)
        return entry[1] if entry is not None else None

    def setdefault(self, key: K, make: Callable[[], V]) -> tuple[V, bool]:
        """The value under ``key``, or a new one from ``make()``; and whether it is new."""
        existing = self.get(key)
        if existing is not None:
            return existing, False
        value = make()
        self.put(key, value)
        return value, True

    def _expire(self) -> None:
        oldest_kept = self._clock() - self._ttl
        while self._entries:
            written, _ = next(iter(self._entries.values()))
            if written >= oldest_kept:
                break
            self._entries.popitem(last=False)


@dataclass
class InFlight(Generic[V]):
    """One message's answer: the task computing it, and how it goes (or went) to the citizen.

    ``open``: no request has committed yet; ``passive``: it went back as the reply to a request
    (a retry gets the same reply: WeChat may not have received the first); ``later``: it goes
    through the customer-service API, and every request for it answers ``success``.
    """

    task: asyncio.Task[V]
    route: Route = "open"
    passive: str | None = None


class Deduper(Generic[V]):
    """Answers in progress or given, by message key (MsgId), for long enough to outlive WeChat's retries."""

    def __init__(self, *, max_entries: int = 10_000, ttl_s: float = 120.0, clock: Callable[[], float] = time.monotonic):
        self._entries: ExpiringMap[str, InFlight[V]] = ExpiringMap(max_entries=max_entries, ttl_s=ttl_s, clock=clock)

    def claim(self, key: str, start: Callable[[], asyncio.Task[V]]) -> tuple[InFlight[V], bool]:
        """The message's entry; ``start()`` is called (once) only when the message is new."""
        return self._entries.setdefault(key, lambda: InFlight(task=start()))

    def holds(self, key: str) -> bool:
        return self._entries.get(key) is not None

    def __len__(self) -> int:
        return len(self._entries)


class MessageClaims(Protocol):
    async def first(self, key: str) -> bool:
        """True for the first worker to see this message key (within the claim's lifetime)."""

    async def aclose(self) -> None: ...


class LocalClaims:
    """One worker: every message is its own (``Deduper`` handles retries)."""

    async def first(self, key: str) -> bool:
        return True

    async def aclose(self) -> None:
        pass


class LocalOnce:
    """One worker's claims that remember: a key is first once within ``ttl_s`` (bounded by ``max_entries``).

    Message retries do not need this (``Deduper`` holds them); a nonce does,
    and it is the fallback of the shared nonce claims while Redis is away.
    """

    def __init__(self, *, ttl_s: float, max_entries: int = 100_000, clock: Callable[[], float] = time.monotonic):
        self._seen: ExpiringMap[str, bool] = ExpiringMap(max_entries=max_entries, ttl_s=ttl_s, clock=clock)

    async def first(self, key: str) -> bool:
        if self._seen.get(key) is not None:
            return False
        self._seen.put(key, True)
        return True

    async def aclose(self) -> None:
        pass


class RedisClaims:
    """Claims shared by every worker through Redis (``SET NX`` with an expiry).

    While Redis is away the decision falls to ``fallback`` (this worker's
    memory), or, without one, the key counts as first: answering a message
    twice is better than not answering it.
    """

    def __init__(self, url: str, ttl_s: int = 120, prefix: str = "daoban:wechat:msg:",
                 fallback: MessageClaims | None = None):
        import redis.asyncio

        self._client = redis.asyncio.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._ttl = ttl_s
        self._prefix = prefix
        self._fallback = fallback

    async def first(self, key: str) -> bool:
        try:
            return bool(await self._client.set(self._prefix + key, b"1", nx=True, ex=self._ttl))
        except Exception as exc:
            logger.warning("WeChat claims %s* unavailable (%s); deciding on this worker", self._prefix,
                           exc.__class__.__name__)
            return True if self._fallback is None else await self._fallback.first(key)

    async def aclose(self) -> None:
        await self._client.aclose()
