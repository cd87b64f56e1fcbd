"""Helpers for tests that watch processes: polling until something holds, reading /proc, and a service whose worker holds a port."""

from __future__ import annotations

import socket
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


# A service whose main process starts a worker that listens on the port, as the action server's Sanic does:
# killed alone with SIGKILL, the main process leaves its worker holding the port. argv: PORT [stubborn];
# a stubborn worker ignores SIGTERM. The worker answers each connection with its pid and waits for the
# client to close first, so no TIME_WAIT is left on the listening port. The main process exits with its
# worker (a worker that cannot bind: the main process dies too, as a real server would).
PORT_HOLDER = """
import os, signal, socket, subprocess, sys
if os.environ.get("HOLDER_ROLE") != "worker":
    worker = subprocess.Popen([sys.executable, "-c", CODE, *sys.argv[1:]],
                              env=dict(os.environ, HOLDER_ROLE="worker"))
    sys.exit(worker.wait())
if sys.argv[2:] == ["stubborn"]:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", int(sys.argv[1])))
server.listen()
while True:
    connection, _ = server.accept()
    with connection:
        connection.sendall(str(os.getpid()).encode())
        connection.recv(1)
"""


def port_holder_argv(python: str, port: int, stubborn: bool = False) -> list[str]:
    """The command line of a PORT_HOLDER service (its code passed to itself as CODE, for its worker)."""
    code = f"CODE = {PORT_HOLDER!r}\n{PORT_HOLDER}"
    return [python, "-c", code, str(port), *(["stubborn"] if stubborn else [])]


def listener_pid(port: int) -> int | None:
    """The pid a PORT_HOLDER worker listening on ``port`` gives; None when nothing listens."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2.0) as connection:
            return int(connection.recv(32).decode() or 0) or None
    except (OSError, ValueError):
        return None


def port_free(port: int) -> bool:
    """Whether a server could listen on ``port`` now (as servers do, with SO_REUSEADDR)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def process_group(pid: int) -> int | None:
    """The process group of a live process; None when it is gone or a zombie."""
    return next((p.pgrp for p in live_processes() if p.pid == pid), None)
