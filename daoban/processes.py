"""Starting and stopping Daoban's three processes, tracked by process-id files.

Each process runs in its own session (process group) so ``stop`` ends it with
everything it spawned; logs go to ``home/logs/<name>.log``.
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

from daoban.errors import ProcessFailed
from daoban.rasa_model import rasa_env, rasa_executable
from daoban.settings import REPO_ROOT, Settings

logger = logging.getLogger(__name__)

ORDER = ("actions", "rasa", "api")


@dataclass(frozen=True)
class ProcessSpec:
    name: str
    argv: list[str]
    env: dict[str, str]
    cwd: Path


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that gives a child process exactly these settings."""
    env = dict(os.environ)
    env.update(
        DAOBAN_HOME=str(settings.home),
        DAOBAN_CACHE_DIR=str(settings.cache_dir),
        DAOBAN_HOST=settings.host,
        DAOBAN_API_PORT=str(settings.api_port),
        DAOBAN_RASA_PORT=str(settings.rasa_port),
        DAOBAN_ACTIONS_PORT=str(settings.actions_port),
        DAOBAN_LOG_LEVEL=settings.log_level,
        HF_HUB_OFFLINE="1",
        TOKENIZERS_PARALLELISM="false",
        PYTHONPATH=str(REPO_ROOT),
    )
    if settings.database_url:
        env["DAOBAN_DATABASE_URL"] = settings.database_url
    if settings.e5_model_dir:
        env["DAOBAN_E5_MODEL_DIR"] = str(settings.e5_model_dir)
    return env


def write_rasa_endpoints(settings: Settings) -> Path:
    """Rasa reads its action server and tracker store from a file; ours is generated from settings."""
    tracker_db = settings.home / "rasa" / "tracker.db"
    tracker_db.parent.mkdir(parents=True, exist_ok=True)
    path = settings.run_dir / "endpoints.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "action_endpoint:\n"
        f'  url: "{settings.actions_url}/webhook"\n'
        "tracker_store:\n"
        "  type: SQL\n"
        '  dialect: "sqlite"\n'
        f'  db: "{tracker_db}"\n',
        encoding="utf-8",
    )
    return path


def process_specs(settings: Settings, model: Path) -> dict[str, ProcessSpec]:
    env = settings_env(settings)
    actions_env = dict(env, SANIC_HOST=settings.host)
    rasa_state = settings.home / "rasa"
    rasa = dict(rasa_env(settings, rasa_state))
    return {
        "actions": ProcessSpec(
            "actions", [sys.executable, "-m", "rasa_sdk", "--actions", "actions", "--port", str(settings.actions_port)],
            actions_env, REPO_ROOT,
        ),
        "rasa": ProcessSpec(
            "rasa",
            [
                str(rasa_executable(settings)), "run", "--enable-api", "-i", settings.host,
                "--port", str(settings.rasa_port), "--model", str(model),
                "--endpoints", str(write_rasa_endpoints(settings)),
                "--credentials", str(settings.bot_dir / "credentials.yml"),
            ],
            rasa, settings.bot_dir,
        ),
        "api": ProcessSpec(
            "api",
            [sys.executable, "-m", "uvicorn", "--factory", "service.main:create_app",
             "--host", settings.host, "--port", str(settings.api_port), "--no-access-log"],
            env, REPO_ROOT,
        ),
    }


def _pid_file(settings: Settings, name: str) -> Path:
    return settings.run_dir / f"{name}.pid"


def running_pid(settings: Settings, name: str) -> int | None:
    path = _pid_file(settings, name)
    try:
        pid = int(path.read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


def start(settings: Settings, specs: dict[str, ProcessSpec]) -> None:
    settings.logs_dir.mkdir(parents=True, exist_ok=True)
    settings.run_dir.mkdir(parents=True, exist_ok=True)
    for name in ORDER:
        if running_pid(settings, name):
            logger.info("%s is already running", name)
            continue
        spec = specs[name]
        log = open(settings.logs_dir / f"{name}.log", "ab")
        process = subprocess.Popen(spec.argv, cwd=spec.cwd, env=spec.env, stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        _pid_file(settings, name).write_text(str(process.pid))
        logger.info("started %s (pid %d), log %s", name, process.pid, settings.logs_dir / f"{name}.log")


def wait_healthy(settings: Settings, timeout_s: float = 420.0) -> dict:
    """Poll /healthz until every component is up; fail early when a process has died."""
    deadline = time.monotonic() + timeout_s
    last: dict = {}
    while time.monotonic() < deadline:
        for name in ORDER:
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
    """Ask one question straight at Rasa before citizens arrive.

    The first question loads the embedding model and the index into the action
    server and runs Rasa's first prediction: tens of seconds on a busy machine,
    longer than a citizen's request may wait. Paying that here keeps the first
    real question as fast as the rest.
    """
    started = time.monotonic()
    try:
        response = httpx.post(f"{settings.rasa_url}/webhooks/rest/webhook",
                              json={"sender": WARM_UP_SENDER, "message": WARM_UP_QUESTION}, timeout=timeout_s)
        response.raise_for_status()
    except httpx.HTTPError as exc:
        logger.warning("warm-up question failed (%s); the first citizen may wait longer", exc.__class__.__name__)
        return
    logger.info("warmed up in %.1f s", time.monotonic() - started)


def stop(settings: Settings, grace_s: float = 20.0) -> list[str]:
    stopped = []
    for name in reversed(ORDER):
        pid = running_pid(settings, name)
        if pid is None:
            _pid_file(settings, name).unlink(missing_ok=True)
            continue
        _signal_group(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.2)
        if _alive(pid):
            _signal_group(pid, signal.SIGKILL)
        _pid_file(settings, name).unlink(missing_ok=True)
        stopped.append(name)
        logger.info("stopped %s (pid %d)", name, pid)
    return stopped


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


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass
