"""Starting and stopping Daoban's processes, tracked by process-id files.

``start`` hands them to a supervisor process (``daoban.supervisor``) that
restarts any that dies. Each process runs in its own session (process group) so
``stop`` ends it with everything it spawned; logs go to ``home/logs/<name>.log``.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import make_url

from daoban.errors import ProcessFailed
from daoban.rasa_model import rasa_env, rasa_executable
from daoban.settings import REPO_ROOT, Settings

logger = logging.getLogger(__name__)

ORDER = ("actions", "rasa", "api")  # start order of the kinds; production mode runs "rasa-1", "rasa-2", …


def _rank(name: str) -> tuple[int, str]:
    kind = name.split("-", 1)[0]
    return (ORDER.index(kind) if kind in ORDER else len(ORDER), name)


def _names_running(settings: Settings) -> list[str]:
    """Processes this instance started, by their pid files, in start order."""
    return sorted((p.stem for p in settings.run_dir.glob("*.pid")), key=_rank)


@dataclass(frozen=True)
class ProcessSpec:
    name: str
    argv: list[str]
    env: dict[str, str]
    cwd: Path


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that gives a child process exactly these settings: every one that is set (as a
    child reads them, ``DAOBAN_<NAME>``), whether it came from the environment or from the caller."""
    env = dict(os.environ)
    for name, value in settings.model_dump().items():
        if value is not None:
            env[f"DAOBAN_{name.upper()}"] = str(value)
    env.update(HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false", PYTHONPATH=str(REPO_ROOT))
    return env


def write_rasa_endpoints(settings: Settings, index: int = 0) -> Path:
    """Rasa reads its action server, tracker store and lock store from a file; ours is generated from settings.

    Embedded: a SQLite tracker store and Rasa's in-memory lock store. Production:
    every Rasa server keeps trackers in PostgreSQL and locks conversations in
    Redis, so any of them can take any citizen's next message; Rasa server ``i``
    calls action server ``i``.
    """
    path = settings.run_dir / f"endpoints-{index + 1}.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["action_endpoint:", f'  url: "{settings.actions_urls[index]}/webhook"', "tracker_store:", "  type: SQL"]
    if settings.mode == "production":
        db = make_url(settings.database_url or "")
        redis = make_url(settings.redis_url)
        lines += [
            '  dialect: "postgresql"', f'  url: "{db.host or "127.0.0.1"}"', f"  port: {db.port or 5432}",
            f'  db: "{db.database}"', f'  username: "{db.username or "postgres"}"',
        ]
        if db.password:
            lines.append(f'  password: "{db.password}"')
        lines += ["lock_store:", "  type: redis", f'  url: "{redis.host or "127.0.0.1"}"', f"  port: {redis.port or 6379}",
                  f"  db: {redis.database or 0}", '  key_prefix: "daoban"']
    else:
        tracker_db = settings.home / "rasa" / "tracker.db"
        tracker_db.parent.mkdir(parents=True, exist_ok=True)
        lines += ['  dialect: "sqlite"', f'  db: "{tracker_db}"']
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def process_specs(settings: Settings, model: Path) -> dict[str, ProcessSpec]:
    """What to start: one of each process (embedded) or ``replicas`` Rasa and action servers and as many
    API workers sharing the API port (production)."""
    env = settings_env(settings)
    actions_env = dict(env, SANIC_HOST=settings.host)
    rasa = dict(rasa_env(settings, settings.home / "rasa"))
    count = settings.process_count
    specs: dict[str, ProcessSpec] = {}
    for i in range(count):
        suffix = f"-{i + 1}" if settings.mode == "production" else ""
        specs["actions" + suffix] = ProcessSpec(
            "actions" + suffix,
            [sys.executable, "-m", "rasa_sdk", "--actions", "actions", "--port", str(settings.actions_port + i)],
            actions_env, REPO_ROOT,
        )
        specs["rasa" + suffix] = ProcessSpec(
            "rasa" + suffix,
            [
                str(rasa_executable(settings)), "run", "--enable-api", "-i", settings.host,
                "--port", str(settings.rasa_port + i), "--model", str(model),
                "--endpoints", str(write_rasa_endpoints(settings, i)),
                "--credentials", str(settings.bot_dir / "credentials.yml"),
            ],
            rasa, settings.bot_dir,
        )
    specs["api"] = ProcessSpec(
        "api",
        [sys.executable, "-m", "uvicorn", "--factory", "service.main:create_app", "--host", settings.host,
         "--port", str(settings.api_port), "--no-access-log", "--workers", str(count)],
        env, REPO_ROOT,
    )
    return specs


SUPERVISOR = "supervisor"


def start_order(specs: dict[str, ProcessSpec]) -> list[str]:
    return sorted(specs, key=_rank)


def pid_file(settings: Settings, name: str) -> Path:
    return settings.run_dir / f"{name}.pid"


def running_pid(settings: Settings, name: str) -> int | None:
    path = pid_file(settings, name)
    try:
        pid = int(path.read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


def launch(settings: Settings, spec: ProcessSpec) -> subprocess.Popen:
    """Start one process in a session of its own, logging to ``logs/<name>.log``, and write its pid file."""
    settings.logs_dir.mkdir(parents=True, exist_ok=True)
    settings.run_dir.mkdir(parents=True, exist_ok=True)
    log = open(settings.logs_dir / f"{spec.name}.log", "ab")
    try:
        process = subprocess.Popen(spec.argv, cwd=spec.cwd, env=spec.env, stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    finally:
        log.close()
    pid_file(settings, spec.name).write_text(str(process.pid))
    logger.info("started %s (pid %d), log %s", spec.name, process.pid, settings.logs_dir / f"{spec.name}.log")
    return process


def start(settings: Settings, specs: dict[str, ProcessSpec], timeout_s: float = 30.0) -> None:
    """Start ``specs`` under a supervisor (``daoban.supervisor``) that restarts any of them that dies.

    Returns once every process has been started (pid files written), not once
    they are healthy: ``wait_healthy`` is for that. Already running: nothing new.
    """
    running = running_pid(settings, SUPERVISOR)
    if running:
        logger.info("already running (supervisor pid %d)", running)
        return
    settings.run_dir.mkdir(parents=True, exist_ok=True)
    from daoban.supervisor import write_specs  # the supervisor imports this module

    specs_path = settings.run_dir / "specs.json"
    write_specs(specs_path, specs)
    supervisor = ProcessSpec(SUPERVISOR, [sys.executable, "-m", "daoban.supervisor", str(specs_path)],
                             settings_env(settings), REPO_ROOT)
    process = launch(settings, supervisor)
    deadline = time.monotonic() + timeout_s
    while not all(running_pid(settings, name) for name in specs):
        if process.poll() is not None:
            raise ProcessFailed(f"the supervisor exited at start; see {settings.logs_dir / (SUPERVISOR + '.log')}")
        if time.monotonic() > deadline:
            raise ProcessFailed(f"processes not started after {timeout_s:.0f}s; see {settings.logs_dir}")
        time.sleep(0.1)


def wait_healthy(settings: Settings, timeout_s: float = 420.0) -> dict:
    """Poll /healthz until every component is up; fail early when a process has died."""
    deadline = time.monotonic() + timeout_s
    last: dict = {}
    while time.monotonic() < deadline:
        for name in _names_running(settings):
            if running_pid(settings, name) is None:
                raise ProcessFailed(f"{name} exited during start-up; see {settings.logs_dir / (name + '.log')}")
        try:
            response = httpx.get(f"{settings.api_url}/healthz", timeout=5.0)
            last = response.json()
            if response.status_code == 200:
                warm_up(settings, max(deadline - time.monotonic(), 60.0))
                return last
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(2.0)
    raise ProcessFailed(f"not healthy after {timeout_s:.0f}s: {last}")


WARM_UP_SENDER = "daoban-warm-up"
WARM_UP_QUESTION = "办理居住证需要什么材料？"


def warm_up(settings: Settings, timeout_s: float) -> None:
    """Ask one question straight at every Rasa server before citizens arrive.

    The first question loads the embedding model and the index into the action
    server and runs Rasa's first prediction: tens of seconds on a busy machine,
    longer than a citizen's request may wait. Paying that here keeps the first
    real question as fast as the rest. Each Rasa server calls its own action
    server, so each is asked.
    """
    started = time.monotonic()
    for url in settings.rasa_urls:
        try:
            response = httpx.post(f"{url}/webhooks/rest/webhook",
                                  json={"sender": WARM_UP_SENDER, "message": WARM_UP_QUESTION}, timeout=timeout_s)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            logger.warning("warm-up question to %s failed (%s); the first citizen may wait longer", url,
                           exc.__class__.__name__)
    logger.info("warmed up in %.1f s", time.monotonic() - started)


def stop(settings: Settings, grace_s: float = 20.0) -> list[str]:
    """Stop the supervisor (which stops its children), then anything it left behind; the names that were running."""
    names = [name for name in _names_running(settings) if name != SUPERVISOR]
    was_running = [name for name in reversed(names) if running_pid(settings, name)]
    supervisor = running_pid(settings, SUPERVISOR)
    if supervisor is not None:
        _end(supervisor, grace_s + 10.0)  # it gives its children grace_s, in parallel
    pid_file(settings, SUPERVISOR).unlink(missing_ok=True)
    for name in reversed(names):
        pid = running_pid(settings, name)
        if pid is not None:
            _end(pid, grace_s)
        pid_file(settings, name).unlink(missing_ok=True)
    for name in was_running:
        logger.info("stopped %s", name)
    return was_running


def _end(pid: int, grace_s: float) -> None:
    signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.2)
    if _alive(pid):
        signal_group(pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        finished, _ = os.waitpid(pid, os.WNOHANG)
        if finished == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass
