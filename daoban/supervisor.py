"""Keeps Daoban's processes running: a child that dies is started again.

A Rasa server, an action server or the API killed by the kernel (out of
memory), a crash or an operator's mistake must not leave a hall without its
assistant until someone notices. ``processes.start`` runs this module as a
process of its own; it starts every child, writes their pid files, and
restarts one that exits, waiting longer each time it dies soon after starting
(1 s, 2 s, 4 s … 30 s) so a child that cannot start does not spin. It never
gives up: the database or the network coming back is a reason to try again.

Each child runs in a process group of its own. A child that dies may leave its
workers behind (the action server's Sanic worker, killed with its parent by
SIGKILL, keeps listening on the port): before starting the child again the
supervisor ends what is left of its group (SIGTERM, SIGKILL after
``LEFTOVER_GRACE_S``), or the new one would find its port taken and die again
and again. As the children's subreaper it takes in such orphans and reaps them.

SIGTERM or SIGINT ends it: it stops every child's process group (SIGTERM,
SIGKILL after the grace period), removes their pid files, and exits.

    python -m daoban.supervisor SPECS_JSON
"""

from __future__ import annotations

import ctypes
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
from daoban.processes import (
    ProcessSpec,
    end_groups,
    group_members,
    launch,
    pid_file,
    reap_group,
    signal_group,
    start_order,
)
from daoban.settings import Settings, load_settings

logger = logging.getLogger(__name__)

POLL_S = 0.5
FIRST_BACKOFF_S = 1.0
MAX_BACKOFF_S = 30.0
STABLE_AFTER_S = 60.0  # a child that ran this long before dying is restarted at once (after FIRST_BACKOFF_S)
LEFTOVER_GRACE_S = 5.0  # what a dead child left in its group gets this long after SIGTERM before SIGKILL
STOP_GRACE_S = 20.0
PR_SET_CHILD_SUBREAPER = 36  # linux/prctl.h


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
    leftovers: int | None = None  # the process group of a dead instance while what it left there is ended
    kill_at: float = 0.0  # when those leftovers get SIGKILL
    killed: bool = False


class Supervisor:
    def __init__(self, settings: Settings, specs: dict[str, ProcessSpec], order: list[str],
                 leftover_grace_s: float = LEFTOVER_GRACE_S, stop_grace_s: float = STOP_GRACE_S):
        self._settings = settings
        self._children = {name: Child(specs[name]) for name in order}
        self._stopping = threading.Event()
        self._leftover_grace_s = leftover_grace_s
        self._stop_grace_s = stop_grace_s

    def stop(self) -> None:
        self._stopping.set()

    def run(self) -> None:
        for child in self._children.values():
            self._start(child)
        while not self._stopping.wait(POLL_S):
            now = time.monotonic()
            for child in self._children.values():
                self._tend(child, now)
        self._stop_children()

    def _tend(self, child: Child, now: float) -> None:
        """One look at a child: end what a dead one left, restart it when due, notice that it died."""
        if child.leftovers is not None and not self._leftovers_ended(child, now):
            return
        if child.restart_at is not None:
            if now >= child.restart_at:
                child.restarts += 1
                logger.warning("restarting %s (restart %d)", child.spec.name, child.restarts)
                self._start(child)
            return
        code = child.process.poll() if child.process is not None else 0
        if code is not None:
            self._died(child, code, now)

    def _died(self, child: Child, code: int, now: float) -> None:
        """Schedule the restart, and start ending whatever the child left running in its group."""
        ran_s = now - child.started_at
        child.backoff_s = FIRST_BACKOFF_S if ran_s >= STABLE_AFTER_S else min(child.backoff_s * 2, MAX_BACKOFF_S)
        child.restart_at = now + child.backoff_s
        logger.error("%s exited with %s after %.0f s; restarting in %.0f s", child.spec.name, code, ran_s,
                     child.backoff_s)
        group = child.process.pid if child.process is not None else None
        left = group_members(group) if group is not None else []
        if left:
            logger.warning("%s left %d process(es) in its group (%s); ending them before it starts again",
                           child.spec.name, len(left), ", ".join(map(str, left)))
            signal_group(group, signal.SIGTERM)
            child.leftovers, child.kill_at, child.killed = group, now + self._leftover_grace_s, False

    def _leftovers_ended(self, child: Child, now: float) -> bool:
        """Whether the dead child's group is empty now; SIGKILL to what ignored SIGTERM past the grace."""
        reap_group(child.leftovers)  # its main process is reaped already: only orphans we took in are left
        if not group_members(child.leftovers):
            logger.info("%s: nothing is left of its group %d", child.spec.name, child.leftovers)
            child.leftovers = None
            return True
        if now >= child.kill_at and not child.killed:
            logger.warning("%s: what it left did not stop in %.0f s; killing it", child.spec.name,
                           self._leftover_grace_s)
            signal_group(child.leftovers, signal.SIGKILL)
            child.killed = True
        return False

    def _start(self, child: Child) -> None:
        child.process = launch(self._settings, child.spec)
        child.started_at = time.monotonic()
        child.restart_at = None

    def _stop_children(self) -> None:
        """End every child's process group together, a dead child's leftovers included."""
        groups = {c.process.pid: c.spec.name for c in reversed(self._children.values()) if c.process is not None}
        running = [name for group, name in groups.items() if group_members(group)]
        end_groups(groups, self._stop_grace_s)
        for child in self._children.values():
            if child.process is not None:
                child.process.poll()
            pid_file(self._settings, child.spec.name).unlink(missing_ok=True)
        logger.info("stopped %s", ", ".join(running) or "nothing")


def become_subreaper() -> bool:
    """Take in the orphans of our children's groups instead of init, which in a container may never reap them.

    A worker whose parent was killed is then our child: ending its group, the
    supervisor reaps it, and no zombie is left. Linux only; elsewhere orphans
    still go to init, and only their reaping is lost.
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        done = libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        done = False
    if not done:
        logger.info("not a subreaper here; orphans of dead children are reaped by init")
    return done


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    settings = load_settings()
    configure_logging(settings.log_level)
    specs = read_specs(Path(args[0]))
    become_subreaper()
    supervisor = Supervisor(settings, specs, start_order(specs))
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: supervisor.stop())
    supervisor.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
