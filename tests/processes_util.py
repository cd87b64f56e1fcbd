"""Helpers for tests that watch processes: polling until something holds, and reading /proc."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


def wait_until(condition: Callable[[], T], timeout_s: float, interval_s: float = 0.1) -> T | None:
    """The condition's first truthy value, or None when it stays falsy for ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value or time.monotonic() >= deadline:
            return value or None
        time.sleep(interval_s)


@dataclass(frozen=True)
class ProcStat:
    pid: int
    state: str
    ppid: int
    pgrp: int
    cmdline: bytes


def live_processes() -> Iterator[ProcStat]:
    """Every process that is not a zombie (a container's init may never reap them)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if fields[0] != "Z":
            yield ProcStat(int(stat.parent.name), fields[0], int(fields[1]), int(fields[2]), cmdline)
