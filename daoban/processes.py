"""Starting and stopping Daoban's processes, tracked by process-id files.

``start`` hands them to a supervisor process (``daoban.supervisor``) that
restarts any that dies. Each process runs in its own session (process group,
whose id is the pid in its pid file) so ``stop`` ends it with everything it
spawned, even when the process itself is already dead and only a worker it left
behind still holds its port; logs go to ``home/logs/<name>.log``.

Rasa's HTTP API listens on loopback only and asks for a token (``home/rasa-token``,
made at the first start); the API gets it as ``DAOBAN_RASA_TOKEN``.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import make_url

from daoban.errors import ProcessFailed
from daoban.rasa_model import rasa_env, rasa_executable
from daoban.settings import REPO_ROOT, Settings

logger = logging.getLogger(__name__)

ORDER = ("actions", "rasa", "api")  # start order of the kinds; production mode runs "rasa-1", "rasa-2", …
LOOPBACK = "127.0.0.1"
RASA_TOKEN_ENV = "DAOBAN_RASA_TOKEN"  # how the API learns the token of Rasa's HTTP API
CITIZEN_KEY_ENV = "DAOBAN_CITIZEN_KEY"  # how every API worker learns the key of web citizens' cookies
# Rasa started through its own Python so that the token reaches ``--auth-token`` from a file, not from the command
# line, which every local user can read (``ps``); argv: TOKEN_FILE, then rasa's own arguments.
RASA_WITH_TOKEN = (
    "import sys; from pathlib import Path; from rasa.__main__ import main; "
    "token = Path(sys.argv[1]).read_text(encoding='utf-8').strip(); "
    "sys.argv = ['rasa', *sys.argv[2:], '--auth-token', token]; sys.exit(main())"
)


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


def rasa_token_file(settings: Settings) -> Path:
    return settings.home / "rasa-token"


def rasa_token(settings: Settings) -> str:
    """The token Rasa's HTTP API asks for, made once per home and kept in a file only this user can read.

    Rasa's API can rewrite any conversation and load another model; loopback alone
    still lets every local user and every process on the machine call it. Kept
    rather than made anew at each start, so a second ``start`` (which finds the
    processes running and starts nothing) never leaves the API with another token
    than the running Rasa servers. Deleting the file makes a new one at the next start.
    """
    return _kept_secret(rasa_token_file(settings), "the token of Rasa's HTTP API")


def citizen_key_file(settings: Settings) -> Path:
    return settings.home / "citizen-key"


def citizen_key(settings: Settings) -> str:
    """The key web citizens' cookies are signed with (``service.citizens``), shared by every API worker.

    Kept across restarts so a citizen's conversation survives one; deleting the
    file makes a new key at the next start, and every web citizen starts anew.
    """
    return _kept_secret(citizen_key_file(settings), "the key of web citizens' cookies")


def _kept_secret(path: Path, what: str) -> str:
    kept = _read_token(path)
    if kept:
        return kept
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)  # empty: a start interrupted while writing it
    token = secrets.token_urlsafe(32)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        out.write(token + "\n")
    logger.info("made %s, %s", what, path)
    return token


def _read_token(path: Path) -> str | None:
    """The kept token, made private again if someone loosened the file's mode."""
    try:
        token = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    os.chmod(path, 0o600)
    return token or None


def loopback_rasa_urls(settings: Settings) -> list[str]:
    """Where the Rasa servers listen: loopback, whatever host the API listens on."""
    return [f"http://{LOOPBACK}:{settings.rasa_port + i}" for i in range(settings.process_count)]


def process_specs(settings: Settings, model: Path) -> dict[str, ProcessSpec]:
    """What to start: one of each process (embedded) or ``replicas`` Rasa and action servers and as many
    API workers sharing the API port (production).

    Rasa's HTTP API (``--enable-api``) listens on loopback with a token: only
    the API, on this machine, talks to it.
    """
    env = settings_env(settings)
    token = rasa_token(settings)
    rasa_python = rasa_executable(settings).parent / "python"
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
                str(rasa_python), "-c", RASA_WITH_TOKEN, str(rasa_token_file(settings)),
                "run", "--enable-api", "-i", LOOPBACK,
                "--port", str(settings.rasa_port + i), "--model", str(model),
                "--endpoints", str(write_rasa_endpoints(settings, i)),
                "--credentials", str(settings.bot_dir / "credentials.yml"),
            ],
            rasa, settings.bot_dir,
        )
    specs["api"] = ProcessSpec(
        "api",
        [sys.executable, "-m", "uvicorn", "--factory", "service.main:create_app", "--host", settings.host,
         "--port", str(settings.api_port), "--no-access-log", "--workers", str(count), *proxy_arguments(settings)],
        dict(env, **{RASA_TOKEN_ENV: token, CITIZEN_KEY_ENV: citizen_key(settings)}), REPO_ROOT,
    )
    return specs


def proxy_arguments(settings: Settings) -> list[str]:
    """X-Forwarded-For believed from the configured proxies only: uvicorn's default believes it from 127.0.0.1,
    which is any local client, and the limits per address would count whatever address a client wrote."""
    proxies = [p.strip() for p in settings.trusted_proxies.split(",") if p.strip()]
    if not proxies:
        return ["--no-proxy-headers"]
    return ["--proxy-headers", "--forwarded-allow-ips", ",".join(proxies)]


SUPERVISOR = "supervisor"


def start_order(specs: dict[str, ProcessSpec]) -> list[str]:
    return sorted(specs, key=_rank)


def pid_file(settings: Settings, name: str) -> Path:
    return settings.run_dir / f"{name}.pid"


def boot_id_file(settings: Settings) -> Path:
    return settings.run_dir / "boot-id"


def _boot_id() -> str | None:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip() or None
    except OSError:
        return None


def _write_boot_id(settings: Settings) -> None:
    """Which boot the pid files belong to: after a power cut they name processes that no longer exist, and the
    same numbers may now be someone else's process groups, which ``stop`` must not kill."""
    boot = _boot_id()
    if boot is not None:
        boot_id_file(settings).write_text(boot + "\n")


def _from_this_boot(settings: Settings) -> bool:
    try:
        recorded = boot_id_file(settings).read_text().strip()
    except OSError:
        return True  # written by a version that did not record it: trusted, as it always was
    return recorded == _boot_id()


def recorded_pid(settings: Settings, name: str) -> int | None:
    """The pid in ``name``'s pid file (also its process group), whether or not that process still lives;
    None when there is none or it was written before the machine last started."""
    try:
        pid = int(pid_file(settings, name).read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if pid > 0 and _from_this_boot(settings) else None


def running_pid(settings: Settings, name: str) -> int | None:
    """``name``'s main process when it is alive (its workers may outlive it: see ``group_members``)."""
    pid = recorded_pid(settings, name)
    if pid is None:
        return None
    try:
        os.kill(pid, 0)
    except OSError:
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
    _write_boot_id(settings)
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
    for url in loopback_rasa_urls(settings):
        try:
            response = httpx.post(f"{url}/webhooks/rest/webhook",
                                  json={"sender": WARM_UP_SENDER, "message": WARM_UP_QUESTION}, timeout=timeout_s)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            logger.warning("warm-up question to %s failed (%s); the first citizen may wait longer", url,
                           exc.__class__.__name__)
    logger.info("warmed up in %.1f s", time.monotonic() - started)


def stop(settings: Settings, grace_s: float = 20.0) -> list[str]:
    """Stop the supervisor (which stops its children), then whatever it left behind; the names that were running.

    A name counts as running while anything lives in its process group: a
    worker whose parent was killed still holds the port, and must go too.
    """
    names = [name for name in _names_running(settings) if name != SUPERVISOR]
    groups = {name: pid for name in reversed(names) if (pid := recorded_pid(settings, name)) is not None}
    was_running = [name for name, group in groups.items() if group_members(group)]
    supervisor = recorded_pid(settings, SUPERVISOR)
    if supervisor is not None:
        end_groups({supervisor: SUPERVISOR}, grace_s + 10.0)  # it gives its children their grace, in parallel
    pid_file(settings, SUPERVISOR).unlink(missing_ok=True)
    end_groups({group: name for name, group in groups.items()}, grace_s)
    for name in names:
        pid_file(settings, name).unlink(missing_ok=True)
    for name in was_running:
        logger.info("stopped %s", name)
    return was_running


KILL_WAIT_S = 10.0  # after SIGKILL: only a process stuck in the kernel (disk, NFS) takes longer


def end_groups(groups: Mapping[int, str], grace_s: float) -> list[int]:
    """End process groups ``{group id: name}`` together: SIGTERM, then SIGKILL to any with a process left after
    ``grace_s``; returns the groups that still had live processes at the end (logged), normally none.

    Their processes that are our children (a supervisor's children, and the
    orphans it took in as subreaper) are reaped, so no zombie is left behind.
    """
    left = [group for group in groups if group_members(group)]
    for group in left:
        signal_group(group, signal.SIGTERM)
    left = wait_groups_ended(left, grace_s)
    for group in left:
        logger.warning("%s (process group %d) did not stop in %.0f s; killing it", groups[group], group, grace_s)
        signal_group(group, signal.SIGKILL)
    left = wait_groups_ended(left, KILL_WAIT_S)
    for group in left:
        logger.error("%s (process group %d) still runs after SIGKILL: %s", groups[group], group, group_members(group))
    return left


def wait_groups_ended(groups: list[int], timeout_s: float) -> list[int]:
    """Poll until no group has a live process or ``timeout_s`` passes; the groups still alive."""
    deadline = time.monotonic() + timeout_s
    while True:
        for group in groups:
            reap_group(group)
        left = [group for group in groups if group_members(group)]
        if not left or time.monotonic() >= deadline:
            return left
        time.sleep(0.1)


def reap_group(group: int) -> None:
    """Collect the exit of every finished child of ours in ``group``, so none stays a zombie.

    Only for a group being ended: a ``Popen`` still waiting on the group's main
    process would find its exit status taken (and read 0).
    """
    while True:
        try:
            found = os.waitid(os.P_PGID, group, os.WEXITED | os.WNOHANG)
        except ChildProcessError:
            return
        if found is None:
            return


def group_members(group: int) -> list[int]:
    """The live processes of process group ``group``, zombies left out.

    Read from /proc rather than asked with ``killpg(group, 0)``: an exited
    process not yet reaped (in a container, init may never reap the orphans it
    inherits) still counts for the kernel, yet holds no port and needs no
    signal.
    """
    proc = Path("/proc")
    if not proc.is_dir():
        return [group] if _group_exists(group) else []
    members = []
    for stat in proc.glob("[0-9]*/stat"):
        try:
            state, _parent, member_group = stat.read_text().rsplit(")", 1)[1].split()[:3]
        except (OSError, ValueError):
            continue
        if member_group == str(group) and state not in ("Z", "X"):
            members.append(int(stat.parent.name))
    return members


def _group_exists(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def signal_group(pid: int, sig: signal.Signals) -> None:
    """Signal every process of the group ``pid`` leads; a group already gone is no error."""
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass
