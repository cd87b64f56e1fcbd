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

Backups are private to the service's user (folders 0700, files 0600): they
hold citizens' phone numbers and transcripts.

``restore_backup`` checks every checksum before it touches anything, refuses a
backup holding symbolic links or other non-plain files, and refuses while this
home's processes run. SQLite: the database is copied next to the live one,
opened, checked (``PRAGMA quick_check``, a schema revision this Daoban knows)
and migrated there; only then is it swapped in with one rename, the replaced
file kept aside as ``<db>.replaced-<UTC time>``. PostgreSQL: the dump is read
(``pg_restore --list``) and its schema revision checked before the schema is
emptied; then it is restored and migrated. Last, the saved retrieval index is
removed so the next start rebuilds it from the restored base.

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
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.engine import URL

from daoban.errors import DaobanError
from daoban.settings import Settings
from knowledge.database import (
    PRIVATE_DIR_MODE,
    PRIVATE_FILE_MODE,
    DatabaseNotReady,
    check_revision,
    create_private_file,
    make_engine,
    make_private_dir,
    migrate,
)
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
STAGED_SUFFIX = ".restoring"
REPLACED_INFIX = ".replaced-"
_SEARCH_PATH = re.compile(r"-c\s*search_path\s*=\s*([^\s,]+)")
_SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


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
    make_private_dir(directory)
    now = datetime.now(timezone.utc)
    target = _free_name(directory, PREFIX + now.strftime("%Y%m%dT%H%M%SZ"))
    partial = directory / f".{target.name}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(mode=PRIVATE_DIR_MODE)
    os.chmod(partial, PRIVATE_DIR_MODE)  # first, so nothing written inside is ever readable by others
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
        _make_private_tree(partial)
        partial.rename(target)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    logger.info("backup written to %s (%d files, knowledge revision %d)",
                target, len(manifest["files"]), knowledge["revision"])
    return target


def _make_private_tree(root: Path) -> None:
    """Folders 0700 and files 0600 under ``root``: some were written by code that follows the umask."""
    for folder, folders, files in os.walk(root):
        for name in folders:
            os.chmod(Path(folder) / name, PRIVATE_DIR_MODE)
        for name in files:
            os.chmod(Path(folder) / name, PRIVATE_FILE_MODE)


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


@dataclass(frozen=True)
class Restored:
    """What ``restore_backup`` did: the backup's manifest, and where the files it replaced were kept."""

    manifest: dict[str, Any]
    kept: list[Path] = field(default_factory=list)


def read_manifest(backup_dir: Path) -> dict[str, Any]:
    """The manifest, after checking every file it lists against its sha256; ``BackupDamaged`` otherwise.

    A backup holding a symbolic link (or a device, a pipe…) is refused first: a
    link could make the checksums and the restore read files outside the backup.
    """
    backup_dir = Path(backup_dir)
    path = backup_dir / MANIFEST
    if not backup_dir.is_dir():
        raise BackupError(f"{backup_dir} is not a folder: give the path of a daoban-backup-* folder")
    _refuse_links(backup_dir)
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


def _refuse_links(backup_dir: Path) -> None:
    for folder, folders, files in os.walk(backup_dir):  # does not descend into linked folders: they are refused
        for name in folders + files:
            entry = Path(folder) / name
            if entry.is_symlink():
                raise BackupError(f"{entry} is a symbolic link: a backup holds only plain files and folders; "
                                  "nothing was restored")
            if not (entry.is_dir() or entry.is_file()):
                raise BackupError(f"{entry} is not a plain file: nothing was restored")


def restore_backup(settings: Settings, backup_dir: Path, *, force: bool = False) -> Restored:
    """Put the database (and Rasa's tracker file) back as they were in ``backup_dir``.

    Nothing live is touched until the backup's database has proved usable (see
    the module's docstring). Stop Daoban first (``make stop``); ``force=True``
    restores even while its processes run, which they will not notice until
    restarted.
    """
    backup_dir = Path(backup_dir)
    manifest = read_manifest(backup_dir)
    if not force:
        running = running_processes(settings)
        if running:
            raise ServiceRunning(f"Daoban is running for {settings.home} ({', '.join(running)}): "
                                 "stop it first (`make stop`), or pass --force")
    url = make_url(settings.sqlalchemy_url)
    _check_kind(manifest, backup_dir, url)
    if manifest["database"]["kind"] == "sqlite":
        kept = _restore_sqlite(settings, backup_dir, manifest)
    else:
        _restore_postgres(url, backup_dir, manifest["database"]["alembic_revision"])
        kept = []
    if settings.index_dir.exists():
        shutil.rmtree(settings.index_dir)
        logger.info("removed %s: the next start rebuilds the index from the restored base", settings.index_dir)
    logger.info("restored %s (taken %s, knowledge revision %d)",
                backup_dir, manifest["created_at"], manifest["knowledge"]["revision"])
    for path in kept:
        logger.info("the replaced file is kept at %s: delete it once the restored instance is checked", path)
    return Restored(manifest, kept)


def _check_kind(manifest: dict[str, Any], backup_dir: Path, url: URL) -> None:
    """A SQLite backup restores only into SQLite, a dump only into PostgreSQL and the schema it came from."""
    if manifest["database"]["kind"] == "sqlite":
        if not _is_sqlite(url):
            raise BackupError(f"{backup_dir} holds a SQLite database; this instance uses {url.drivername}")
        return
    if _is_sqlite(url):
        raise BackupError(f"{backup_dir} holds a PostgreSQL dump; this instance uses SQLite")
    if manifest["database"]["schema"] != _schema(url):
        raise BackupError(f"{backup_dir} was dumped from schema {manifest['database']['schema'] or 'public'}; "
                          f"the database URL points at schema {_schema(url) or 'public'}")


def _checked_revision(revision: str | None, expected: str | None, where: Path) -> None:
    """The backup's schema revision must be the manifest's, and one this Daoban can migrate from."""
    if revision != expected:
        raise BackupDamaged(f"{where} holds schema revision {revision!r}, its manifest says {expected!r}; "
                            "nothing was restored")
    try:
        check_revision(revision, str(where))
    except DatabaseNotReady as exc:
        raise BackupError(f"{exc}; nothing was restored") from exc


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
    """Copy a live SQLite database page by page into a new private file; writers may go on meanwhile."""
    if not source.exists():
        raise BackupError(f"{source} does not exist: nothing to back up (run `make setup` first?)")
    create_private_file(destination)
    with closing(sqlite3.connect(f"file:{quote(str(source))}?mode=ro", uri=True, timeout=30)) as src, \
            closing(sqlite3.connect(destination)) as dst:
        src.backup(dst)


def _restore_sqlite(settings: Settings, backup_dir: Path, manifest: dict[str, Any]) -> list[Path]:
    """Stage and check every file first, then swap them in; returns where the replaced files were kept."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    database = _sqlite_path(make_url(settings.sqlalchemy_url))
    tracker = _tracker_path(settings)
    with_tracker = settings.mode == "embedded" and TRACKER_FILE in manifest["files"]
    staged: list[tuple[Path, Path]] = []
    try:
        staged.append((_stage_database(backup_dir / SQLITE_FILE, database,
                                       manifest["database"]["alembic_revision"]), database))
        if with_tracker:
            staged.append((_stage_sqlite(backup_dir / TRACKER_FILE, tracker), tracker))
        kept = [aside for copy, target in staged if (aside := _swap_in(copy, target, stamp)) is not None]
    finally:
        for copy, _target in staged:
            _remove_sqlite(copy)  # nothing left after a swap; a failed restore leaves no staged copy behind
    if settings.mode == "embedded" and not with_tracker and tracker.exists():
        kept.append(_set_aside(tracker, stamp))
        logger.info("set %s aside: there was no tracker store at backup time", tracker)
    return kept


def _stage_database(source: Path, target: Path, expected_revision: str | None) -> Path:
    """A private copy of the backup's database next to ``target``, checked and migrated; the live file is untouched."""
    staged = _stage_sqlite(source, target)
    try:
        _checked_revision(_sqlite_revision(staged, source), expected_revision, source)
        engine = make_engine(f"sqlite:///{staged}")
        try:
            migrate(engine)
        finally:
            engine.dispose()
        _checkpoint(staged)
    except BaseException:
        _remove_sqlite(staged)
        raise
    return staged


def _stage_sqlite(source: Path, target: Path) -> Path:
    """Copy ``source`` privately to a hidden name next to ``target`` and check SQLite can use it."""
    make_private_dir(target.parent)
    staged = target.with_name(f".{target.name}{STAGED_SUFFIX}")
    _remove_sqlite(staged)
    try:
        _copy_private(source, staged)
        _check_sqlite(staged, source)
    except BaseException:
        _remove_sqlite(staged)
        raise
    return staged


def _copy_private(source: Path, destination: Path) -> None:
    """Copy into a new 0600 file, synced to disk, never following a link at ``source``."""
    create_private_file(destination)
    with open(os.open(source, os.O_RDONLY | os.O_NOFOLLOW), "rb") as reader, open(destination, "r+b") as writer:
        shutil.copyfileobj(reader, writer)
        writer.flush()
        os.fsync(writer.fileno())


def _open_sqlite(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{quote(str(path.absolute()))}?mode=rw", uri=True, timeout=30)


def _check_sqlite(staged: Path, source: Path) -> None:
    """``BackupError`` naming ``source`` unless SQLite opens the copy and finds it sound."""
    try:
        with closing(_open_sqlite(staged)) as connection:
            verdict = [row[0] for row in connection.execute("PRAGMA quick_check")]
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{source} is not a usable SQLite database ({exc}); nothing was restored") from exc
    if verdict != ["ok"]:
        raise BackupError(f"{source} fails SQLite's check ({verdict[0]}); nothing was restored")


def _sqlite_revision(staged: Path, source: Path) -> str | None:
    try:
        with closing(_open_sqlite(staged)) as connection:
            if connection.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' "
                                  "AND name = 'alembic_version'").fetchone() is None:
                return None
            row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{source}: its schema revision cannot be read ({exc}); nothing was restored") from exc
    return row[0] if row else None


def _checkpoint(path: Path) -> None:
    """Fold the write-ahead log into the file itself, so the file alone is the whole database when renamed."""
    with closing(_open_sqlite(path)) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    for suffix in _SQLITE_SIDE_FILES:
        path.with_name(path.name + suffix).unlink(missing_ok=True)


def _swap_in(staged: Path, target: Path, stamp: str) -> Path | None:
    """Replace ``target`` with ``staged`` in one rename; the file it replaces is kept aside. Returns where."""
    kept = None
    if target.exists():
        kept = _free_name(target.parent, f"{target.name}{REPLACED_INFIX}{stamp}")
        _move_side_files(target, kept)
        try:
            os.link(target, kept)  # the live name keeps its file until the rename below: no moment without one
        except OSError:
            shutil.copy2(target, kept)
        os.chmod(kept, PRIVATE_FILE_MODE)
    target.with_name(target.name + "-shm").unlink(missing_ok=True)
    os.replace(staged, target)
    _fsync_folder(target.parent)
    return kept


def _set_aside(path: Path, stamp: str) -> Path:
    """Rename a SQLite file (with its write-ahead log) to ``<name>.replaced-<stamp>``."""
    kept = _free_name(path.parent, f"{path.name}{REPLACED_INFIX}{stamp}")
    _move_side_files(path, kept)
    os.replace(path, kept)
    path.with_name(path.name + "-shm").unlink(missing_ok=True)
    return kept


def _move_side_files(path: Path, kept: Path) -> None:
    """A write-ahead log or hot journal belongs to its database: it follows the file kept aside."""
    for suffix in ("-wal", "-journal"):
        side = path.with_name(path.name + suffix)
        if side.exists():
            os.replace(side, kept.with_name(kept.name + suffix))


def _fsync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _remove_sqlite(path: Path) -> None:
    for suffix in ("", *_SQLITE_SIDE_FILES):
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


def _run(command: list[str], url: URL) -> str:
    """Run a PostgreSQL client tool; its standard output, or ``BackupError`` with what it said."""
    logger.debug("running %s", " ".join(command))
    result = subprocess.run(command, env=_pg_env(url), capture_output=True, text=True, check=False)
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip()
        raise BackupError(f"{Path(command[0]).name} failed (exit {result.returncode}) "
                          f"for {url.render_as_string(hide_password=True)}: {detail}")
    return result.stdout


def _pg_dump(url: URL, destination: Path) -> None:
    command = [postgres_tool("pg_dump"), "--format=custom", f"--file={destination}"]
    schema = _schema(url)
    if schema:
        command.append(f"--schema={schema}")
    _run(command, url)


def _restore_postgres(url: URL, backup_dir: Path, expected_revision: str | None) -> None:
    """Check the dump can be read and holds a schema this Daoban knows, then restore it and migrate."""
    dump = backup_dir / POSTGRES_FILE
    _check_dump(url, dump)
    _checked_revision(_dump_revision(url, dump), expected_revision, dump)
    _pg_restore(url, dump)
    engine = make_engine(url.render_as_string(hide_password=False))
    try:
        migrate(engine)
    finally:
        engine.dispose()


def _check_dump(url: URL, dump: Path) -> None:
    """``pg_restore --list`` reads the whole table of contents: a file that is no custom-format dump fails here."""
    try:
        listing = _run([postgres_tool("pg_restore"), "--list", str(dump)], url)
    except BackupError as exc:
        raise BackupError(f"{dump} is not a readable PostgreSQL dump ({exc}); nothing was restored") from exc
    if not re.search(r"\bTABLE DATA\b.*\balembic_version\b", listing):
        raise BackupError(f"{dump} holds no alembic_version table: not a dump of a Daoban database; "
                          "nothing was restored")


def _dump_revision(url: URL, dump: Path) -> str | None:
    """The schema revision in the dump's ``alembic_version`` data, read without a server."""
    script = _run([postgres_tool("pg_restore"), "--data-only", "--table=alembic_version", "--file=-", str(dump)], url)
    lines = script.splitlines()
    for number, line in enumerate(lines):
        if line.startswith("COPY ") and "alembic_version" in line and number + 1 < len(lines):
            value = lines[number + 1]
            return None if value == "\\." else value.strip()
    return None


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
