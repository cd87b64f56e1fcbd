"""What the channel remembers between requests: bounded in size and in time.

The WeChat server gives up on a request after 5 seconds and sends the same
message again, up to three times; each message is answered once, so the
answer in progress (or given) is kept under its MsgId. Everything here runs
on the server's event loop and never awaits between a look-up and the write
that follows it, which is what makes it safe for concurrent requests without
a lock.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

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

    def __len__(self) -> int:
        return len(self._entries)
