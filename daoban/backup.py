"""Backup and restore of the application database and the knowledge base (see docs/backup.md).

A backup is one folder, ``daoban-backup-<UTC timestamp>/``:

- ``daoban.db`` (SQLite, copied with SQLite's online backup API, so it is
  consistent while the service runs) or ``daoban.dump`` (PostgreSQL,
  ``pg_dump --format=custom``; only the URL's schema when the URL names one
  through ``options=-csearch_path=...``);
- ``rasa/tracker.db``: Rasa's tracker store, embedded mode, when it exists (in
  production mode Rasa's ``events`` table is in the PostgreSQL dump);
- ``knowledge/*.jsonl``: the published knowledge base as JSON Lines, for people
  to read and for ``daoban kb import``;
- ``manifest.json``: when, which mode and database, the Alembic revision, the
  knowledge revision and content hash, and every file with its sha256.

``restore_backup`` checks every checksum before it touches anything, refuses
while this home's processes run, puts the database back (atomically for
SQLite files), migrates it to the current schema and removes the saved
retrieval index so the next start rebuilds it from the restored base.

Errors::

    DaobanError
    └── BackupError        a backup could not be written or read (the message says what and where)
        ├── BackupDamaged  a file is missing or its checksum differs from the manifest
        └── ServiceRunning restore refused: Daoban's processes run for this home
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import sqlite3
import subprocess
from contextlib import closing
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.engine import URL

from daoban.errors import DaobanError
from daoban.settings import Settings
from knowledge.database import make_engine, migrate
from knowledge.jsonl import write_jsonl
from knowledge.store import KnowledgeStore

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SQLITE_FILE = "daoban.db"
POSTGRES_FILE = "daoban.dump"
TRACKER_FILE = "rasa/tracker.db"
KNOWLEDGE_DIR = "knowledge"
PREFIX = "daoban-backup-"
POSTGRES_BIN_GLOB = "/usr/lib/postgresql/*/bin"
_SEARCH_PATH = re.compile(r"-c\s*search_path\s*=\s*([^\s,]+)")


class BackupError(DaobanError):
    pass


class BackupDamaged(BackupError):
    pass


class ServiceRunning(BackupError):
    pass


# ---- create -----------------------------------------------------------------


def create_backup(settings: Settings, directory: Path) -> Path:
    """Write a backup folder under ``directory``; returns its path.

    The folder is written under a hidden temporary name and renamed when
    complete, so a folder named ``daoban-backup-*`` is always a whole backup.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.now(timezone.utc)
    target = _free_name(directory, PREFIX + now.strftime("%Y%m%dT%H%M%SZ"))
    partial = directory / f".{target.name}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir()
    try:
        url = make_url(settings.sqlalchemy_url)
        if _is_sqlite(url):
            _sqlite_copy(_sqlite_path(url), partial / SQLITE_FILE)
            snapshot = create_engine(f"sqlite:///{partial / SQLITE_FILE}")
        else:
            _pg_dump(url, partial / POSTGRES_FILE)
            snapshot = make_engine(settings.sqlalchemy_url)  # read live: the dump and the export may differ slightly
        try:
            database = _describe_database(snapshot, url)
            knowledge = _export_knowledge(snapshot, partial / KNOWLEDGE_DIR)
        finally:
            snapshot.dispose()
        tracker = _tracker_path(settings)
        if settings.mode == "embedded" and tracker.exists():
            (partial / TRACKER_FILE).parent.mkdir(parents=True)
            _sqlite_copy(tracker, partial / TRACKER_FILE)
        manifest = {
            "format_version": FORMAT_VERSION,
            "created_at": now.isoformat(timespec="seconds"),
            "mode": settings.mode,
            "database": database,
            "knowledge": knowledge,
            "files": {
                path.relative_to(partial).as_posix(): {"sha256": _sha256(path), "bytes": path.stat().st_size}
                for path in sorted(partial.rglob("*")) if path.is_file()
            },
        }
        (partial / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        partial.rename(target)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    logger.info("backup written to %s (%d files, knowledge revision %d)",
                target, len(manifest["files"]), knowledge["revision"])
    return target


def _free_name(directory: Path, name: str) -> Path:
    candidate, n = directory / name, 1
    while candidate.exists():
        n += 1
        candidate = directory / f"{name}-{n}"
    return candidate


def _describe_database(engine: Engine, url: URL) -> dict[str, Any]:
    with engine.connect() as connection:
        revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    kind = "sqlite" if _is_sqlite(url) else "postgresql"
    return {"kind": kind, "schema": None if kind == "sqlite" else _schema(url), "alembic_revision": revision}


def _export_knowledge(engine: Engine, directory: Path) -> dict[str, Any]:
    store = KnowledgeStore(engine)
    records = store.published()
    write_jsonl(records, directory)
    return {"revision": store.revision(), "content_hash": store.content_hash(), "records": len(records)}


# ---- restore ----------------------------------------------------------------


def read_manifest(backup_dir: Path) -> dict[str, Any]:
    """The manifest, after checking every file it lists against its sha256; ``BackupDamaged`` otherwise."""
    backup_dir = Path(backup_dir)
    path = backup_dir / MANIFEST
    if not backup_dir.is_dir():
        raise BackupError(f"{backup_dir} is not a folder: give the path of a daoban-backup-* folder")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        files = manifest["files"]
        if manifest.get("format_version") != FORMAT_VERSION:
            raise BackupError(f"{path}: format version {manifest.get('format_version')!r}, "
                              f"this Daoban reads {FORMAT_VERSION}")
    except FileNotFoundError:
        raise BackupDamaged(f"{backup_dir} has no {MANIFEST}: not a Daoban backup, or an incomplete one") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BackupDamaged(f"{path} cannot be read: {exc}") from exc
    for name, entry in files.items():
        file = backup_dir / name
        if ".." in Path(name).parts or Path(name).is_absolute():
            raise BackupDamaged(f"{path} lists a file outside the backup: {name!r}")
        if not file.is_file():
            raise BackupDamaged(f"{file} is missing from the backup")
        if _sha256(file) != entry["sha256"]:
            raise BackupDamaged(f"{file} is damaged: its sha256 differs from the manifest's; nothing was restored")
    return manifest


def restore_backup(settings: Settings, backup_dir: Path, *, force: bool = False) -> dict[str, Any]:
    """Put the database (and Rasa's tracker file) back as they were in ``backup_dir``; returns the manifest.

    Stop Daoban first (``make stop``); ``force=True`` restores even while its
    processes run, which they will not notice until restarted.
    """
    backup_dir = Path(backup_dir)
    manifest = read_manifest(backup_dir)
    if not force:
        running = running_processes(settings)
        if running:
            raise ServiceRunning(f"Daoban is running for {settings.home} ({', '.join(running)}): "
                                 "stop it first (`make stop`), or pass --force")
    url = make_url(settings.sqlalchemy_url)
    kind = manifest["database"]["kind"]
    if kind == "sqlite":
        if not _is_sqlite(url):
            raise BackupError(f"{backup_dir} holds a SQLite database; this instance uses {url.drivername}")
        _replace_file(backup_dir / SQLITE_FILE, _sqlite_path(url))
    else:
        if _is_sqlite(url):
            raise BackupError(f"{backup_dir} holds a PostgreSQL dump; this instance uses SQLite")
        if manifest["database"]["schema"] != _schema(url):
            raise BackupError(f"{backup_dir} was dumped from schema {manifest['database']['schema'] or 'public'}; "
                              f"the database URL points at schema {_schema(url) or 'public'}")
        _pg_restore(url, backup_dir / POSTGRES_FILE)
    if settings.mode == "embedded":
        tracker = _tracker_path(settings)
        if TRACKER_FILE in manifest["files"]:
            _replace_file(backup_dir / TRACKER_FILE, tracker)
        elif tracker.exists():
            _remove_sqlite(tracker)
            logger.info("removed %s: there was no tracker store at backup time", tracker)
    engine = make_engine(settings.sqlalchemy_url)
    try:
        migrate(engine)
    finally:
        engine.dispose()
    if settings.index_dir.exists():
        shutil.rmtree(settings.index_dir)
        logger.info("removed %s: the next start rebuilds the index from the restored base", settings.index_dir)
    logger.info("restored %s (taken %s, knowledge revision %d)",
                backup_dir, manifest["created_at"], manifest["knowledge"]["revision"])
    return manifest


def running_processes(settings: Settings) -> list[str]:
    """Names of this home's processes whose pid files point at a live process."""
    from daoban.processes import running_pid

    if not settings.run_dir.is_dir():
        return []
    return sorted(p.stem for p in settings.run_dir.glob("*.pid") if running_pid(settings, p.stem) is not None)


# ---- SQLite -----------------------------------------------------------------


def _is_sqlite(url: URL) -> bool:
    return url.drivername.startswith("sqlite")


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up or restored")
    return Path(url.database)


def _tracker_path(settings: Settings) -> Path:
    return settings.home / "rasa" / "tracker.db"


def _sqlite_copy(source: Path, destination: Path) -> None:
    """Copy a live SQLite database page by page; writers may go on meanwhile."""
    if not source.exists():
        raise BackupError(f"{source} does not exist: nothing to back up (run `make setup` first?)")
    with closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)) as src, \
            closing(sqlite3.connect(destination)) as dst:
        src.backup(dst)


def _replace_file(source: Path, target: Path) -> None:
    """Copy ``source`` next to ``target`` and swap it in with one rename; stale WAL files go first."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.restoring")
    shutil.copyfile(source, temporary)
    with open(temporary, "rb") as handle:
        os.fsync(handle.fileno())
    for suffix in ("-wal", "-shm", "-journal"):
        target.with_name(target.name + suffix).unlink(missing_ok=True)
    os.replace(temporary, target)


def _remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)


# ---- PostgreSQL -------------------------------------------------------------


def _schema(url: URL) -> str | None:
    """The schema a URL's ``options=-csearch_path=...`` selects (the first one), or None for the default."""
    options = url.query.get("options")
    if isinstance(options, tuple):
        options = " ".join(options)
    match = _SEARCH_PATH.search(options or "")
    return match.group(1).strip('"') if match else None


def _pg_env(url: URL) -> dict[str, str]:
    env = dict(os.environ)
    for variable, value in (("PGHOST", url.host), ("PGPORT", url.port), ("PGUSER", url.username),
                            ("PGPASSWORD", url.password), ("PGDATABASE", url.database)):
        if value is not None:
            env[variable] = str(value)
    for parameter, variable in (("sslmode", "PGSSLMODE"), ("sslrootcert", "PGSSLROOTCERT")):
        if isinstance(url.query.get(parameter), str):
            env[variable] = url.query[parameter]
    return env


def postgres_tool(name: str) -> str:
    """``pg_dump`` or ``pg_restore``: from PATH, else the newest /usr/lib/postgresql/*/bin."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(Path("/").glob(POSTGRES_BIN_GLOB.lstrip("/") + f"/{name}"),
                        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0)
    if candidates:
        return str(candidates[-1])
    raise BackupError(f"{name} was not found on PATH or in {POSTGRES_BIN_GLOB}: "
                      "install the PostgreSQL client (apt-get install postgresql-client)")


def _run(command: list[str], url: URL) -> None:
    logger.debug("running %s", " ".join(command))
    result = subprocess.run(command, env=_pg_env(url), capture_output=True, text=True, check=False)
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip()
        raise BackupError(f"{Path(command[0]).name} failed (exit {result.returncode}) "
                          f"for {url.render_as_string(hide_password=True)}: {detail}")


def _pg_dump(url: URL, destination: Path) -> None:
    command = [postgres_tool("pg_dump"), "--format=custom", f"--file={destination}"]
    schema = _schema(url)
    if schema:
        command.append(f"--schema={schema}")
    _run(command, url)


def _pg_restore(url: URL, dump: Path) -> None:
    """Empty the target schema, then restore the dump into it in one transaction."""
    _drop_objects(url, _schema(url) or "public")
    _run([postgres_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--single-transaction",
          f"--dbname={url.database}", str(dump)], url)


def _drop_objects(url: URL, schema: str) -> None:
    """Drop tables, views, sequences and types in ``schema``, so tables added by later migrations go too."""
    relations = text(
        "SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = :schema AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')"
    )
    types = text(
        "SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
        "WHERE n.nspname = :schema AND t.typtype IN ('e', 'd')"
    )
    keyword = {"r": "TABLE", "p": "TABLE", "f": "FOREIGN TABLE", "v": "VIEW", "m": "MATERIALIZED VIEW",
               "S": "SEQUENCE"}
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.begin() as connection:
            for name, relkind in connection.execute(relations, {"schema": schema}).all():
                connection.exec_driver_sql(f'DROP {keyword[relkind]} IF EXISTS "{schema}"."{name}" CASCADE')
            for (name,) in connection.execute(types, {"schema": schema}).all():
                connection.exec_driver_sql(f'DROP TYPE IF EXISTS "{schema}"."{name}" CASCADE')
    finally:
        engine.dispose()


def _sha256(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()
