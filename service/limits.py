"""Limits that keep one sender or one request from hurting everyone else.

``BodySizeLimit`` refuses a request body over the limit with 413 before the
application reads it (by its Content-Length, or by counting a chunked body as it
arrives). ``SenderRateLimit`` caps how many chat messages one sender or one
address may send (or login attempts one username or address may make) per
minute: a fixed one-minute window counted in memory (embedded mode, one API
process) or in Redis (production mode, where several workers must share one
count). ``Budget`` counts what is spent in a longer window (hand-overs per
address per hour), checked before and spent only when it happened.

The address is the TCP peer's; a proxy's ``X-Forwarded-For`` is believed only
from the addresses in ``trusted_proxies`` (uvicorn's ``--forwarded-allow-ips``,
set by ``daoban start``), never from any client.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Protocol

from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger(__name__)

HOUR_S = 3600


class BodySizeLimit:
    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await _too_large(send, self.max_bytes)
            return
        # A body without a (truthful) length is read here first, up to the limit, then handed on:
        # refusing half-way through the application's own reading would surface as its parse error.
        chunks: list[bytes] = []
        seen = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay([], message, receive), send)
                return
            chunks.append(message.get("body", b""))
            seen += len(chunks[-1])
            if seen > self.max_bytes:
                await _too_large(send, self.max_bytes)
                return
            if not message.get("more_body", False):
                break
        await self.app(scope, _replay(chunks, None, receive), send)


def _replay(chunks: list[bytes], pending: Message | None, receive: Receive) -> Receive:
    body = b"".join(chunks)
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if pending is not None:
            return pending
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _too_large(send: Send, max_bytes: int) -> None:
    body = ('{"detail":"请求过大：最多 %d 字节。"}' % max_bytes).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class SenderRateLimit(Protocol):
    def allow(self, sender_id: str) -> bool: ...


class Budget(Protocol):
    """How many of something (hand-overs) a key may still have in the current window, spent only when it is had."""

    def left(self, key: str) -> bool: ...

    def spend(self, key: str) -> None: ...


class MemoryWindows:
    """Fixed windows of ``window_s`` counted per key, in this process; old windows are dropped as they pass.

    ``allow`` counts and checks at once (a rate); ``left`` and ``spend`` check first and count only what
    happened (a budget).
    """

    def __init__(self, per_window: int, window_s: int, clock=time.time):  # type: ignore[no-untyped-def]
        self._per_window = per_window
        self._window_s = window_s
        self._clock = clock
        self._lock = threading.Lock()
        self._window = -1
        self._counts: dict[str, int] = {}

    def _current(self) -> dict[str, int]:
        window = int(self._clock() // self._window_s)
        if window != self._window:
            self._window, self._counts = window, {}
        return self._counts

    def allow(self, key: str) -> bool:
        with self._lock:
            counts = self._current()
            counts[key] = counts.get(key, 0) + 1
            return counts[key] <= self._per_window

    def left(self, key: str) -> bool:
        with self._lock:
            return self._current().get(key, 0) < self._per_window

    def spend(self, key: str) -> None:
        self.allow(key)


class RedisWindows:
    """The same windows kept in Redis, so every API worker counts together; fails open if Redis is away
    (a missing limit is better than a refused citizen)."""

    def __init__(self, url: str, per_window: int, window_s: int, clock=time.time):  # type: ignore[no-untyped-def]
        import redis

        self._client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._per_window = per_window
        self._window_s = window_s
        self._clock = clock

    def _key(self, key: str) -> str:
        return f"daoban:windows:{self._window_s}:{int(self._clock() // self._window_s)}:{key}"

    def _count(self, key: str) -> int | None:
        try:
            pipe = self._client.pipeline()
            pipe.incr(self._key(key))
            pipe.expire(self._key(key), 2 * self._window_s)
            return int(pipe.execute()[0])
        except Exception as exc:
            logger.warning("limit unavailable (%s); letting the request through", exc.__class__.__name__)
            return None

    def allow(self, key: str) -> bool:
        count = self._count(key)
        return count is None or count <= self._per_window

    def left(self, key: str) -> bool:
        try:
            spent = self._client.get(self._key(key))
        except Exception as exc:
            logger.warning("limit unavailable (%s); letting the request through", exc.__class__.__name__)
            return True
        return int(spent or 0) < self._per_window

    def spend(self, key: str) -> None:
        self._count(key)


class MemoryRateLimit(MemoryWindows):
    """One-minute windows per sender (or address), in this process."""

    def __init__(self, per_minute: int, clock=time.time):  # type: ignore[no-untyped-def]
        super().__init__(per_minute, 60, clock)


class RedisRateLimit(RedisWindows):
    """One-minute windows per sender (or address), shared by every API worker in Redis."""

    def __init__(self, url: str, per_minute: int, clock=time.time):  # type: ignore[no-untyped-def]
        super().__init__(url, per_minute, 60, clock)


def sender_rate_limit(mode: str, redis_url: str, per_minute: int, clock=time.time) -> SenderRateLimit:  # type: ignore[no-untyped-def]
    """Counted in Redis in production mode (several workers share one count), in memory otherwise."""
    if mode == "production":
        return RedisRateLimit(redis_url, per_minute, clock)
    return MemoryRateLimit(per_minute, clock)


def budget(mode: str, redis_url: str, per_window: int, window_s: int, clock=time.time) -> Budget:  # type: ignore[no-untyped-def]
    """Kept in Redis in production mode (several workers share one count), in memory otherwise."""
    if mode == "production":
        return RedisWindows(redis_url, per_window, window_s, clock)
    return MemoryWindows(per_window, window_s, clock)
