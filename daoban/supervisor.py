"""Keeps Daoban's processes running: a child that dies is started again.

A Rasa server, an action server or the API killed by the kernel (out of
memory), a crash or an operator's mistake must not leave a hall without its
assistant until someone notices. ``processes.start`` runs this module as a
process of its own; it starts every child, writes their pid files, and
restarts one that exits, waiting longer each time it dies soon after starting
(1 s, 2 s, 4 s … 30 s) so a child that cannot start does not spin. It never
gives up: the database or the network coming back is a reason to try again.

SIGTERM or SIGINT ends it: it stops every child (SIGTERM to its process group,
SIGKILL after the grace period), removes their pid files, and exits.

    python -m daoban.supervisor SPECS_JSON
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from daoban.logging_setup import configure_logging
from daoban.processes import ProcessSpec, launch, pid_file, signal_group, start_order
from daoban.settings import Settings, load_settings

logger = logging.getLogger(__name__)

POLL_S = 0.5
FIRST_BACKOFF_S = 1.0
MAX_BACKOFF_S = 30.0
STABLE_AFTER_S = 60.0  # a child that ran this long before dying is restarted at once (after FIRST_BACKOFF_S)


def write_specs(path: Path, specs: dict[str, ProcessSpec]) -> None:
    """The children's command lines and environments, readable by this user only (the environment may hold secrets)."""
    body = {name: {"argv": s.argv, "env": s.env, "cwd": str(s.cwd)} for name, s in specs.items()}
    path.unlink(missing_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        json.dump(body, out, ensure_ascii=False)


def read_specs(path: Path) -> dict[str, ProcessSpec]:
    body = json.loads(path.read_text(encoding="utf-8"))
    return {name: ProcessSpec(name, s["argv"], s["env"], Path(s["cwd"])) for name, s in body.items()}


@dataclass
class Child:
    spec: ProcessSpec
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    backoff_s: float = FIRST_BACKOFF_S
    restart_at: float | None = None
    restarts: int = 0


class Supervisor:
    def __init__(self, settings: Settings, specs: dict[str, ProcessSpec], order: list[str]):
        self._settings = settings
        self._children = {name: Child(specs[name]) for name in order}
        self._stopping = threading.Event()

    def stop(self) -> None:
        self._stopping.set()

    def run(self) -> None:
        for child in self._children.values():
            self._start(child)
        while not self._stopping.wait(POLL_S):
            now = time.monotonic()
            for name, child in self._children.items():
                if child.restart_at is not None:
                    if now >= child.restart_at:
                        child.restarts += 1
                        logger.warning("restarting %s (restart %d)", name, child.restarts)
                        self._start(child)
                    continue
                code = child.process.poll() if child.process is not None else 0
                if code is None:
                    continue
                ran_s = now - child.started_at
                child.backoff_s = FIRST_BACKOFF_S if ran_s >= STABLE_AFTER_S else min(child.backoff_s * 2, MAX_BACKOFF_S)
                child.restart_at = now + child.backoff_s
                logger.error("%s exited with %s after %.0f s; restarting in %.0f s", name, code, ran_s, child.backoff_s)
        self._stop_children()

    def _start(self, child: Child) -> None:
        child.process = launch(self._settings, child.spec)
        child.started_at = time.monotonic()
        child.restart_at = None

    def _stop_children(self, grace_s: float = 20.0) -> None:
        running = [c for c in reversed(self._children.values()) if c.process is not None and c.process.poll() is None]
        for child in running:
            signal_group(child.process.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline and any(c.process.poll() is None for c in running):
            time.sleep(0.2)
        for child in running:
            if child.process.poll() is None:
                logger.warning("%s did not stop in %.0f s; killing it", child.spec.name, grace_s)
                signal_group(child.process.pid, signal.SIGKILL)
                child.process.wait(timeout=10)
        for child in self._children.values():
            pid_file(self._settings, child.spec.name).unlink(missing_ok=True)
        logger.info("stopped %s", ", ".join(c.spec.name for c in running) or "nothing")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    settings = load_settings()
    configure_logging(settings.log_level)
    specs = read_specs(Path(args[0]))
    supervisor = Supervisor(settings, specs, start_order(specs))
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: supervisor.stop())
    supervisor.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
