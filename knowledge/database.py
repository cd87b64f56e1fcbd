"""Engine creation, database creation and schema migration for the knowledge and application database.

SQLite is the embedded default; PostgreSQL is used in production mode. The
schema is only ever changed through Alembic migrations, applied at set-up and
at process start (``migrate`` is idempotent).

Only set-up makes a database (``create_database``, then ``migrate``). An engine
never does: a SQLite file is opened read-write and must already exist, so a
database file that was moved or deleted makes connections fail, instead of
starting an empty database that some processes write to while others still
write to the old file. Serving processes open with ``open_database``, which
refuses a database that is missing, was never set up, or was written by a
newer Daoban.

Database files and the folders made for them are private to the service's
user (0600 / 0700, whatever the umask): they hold citizens' phone numbers and
conversation transcripts.

Errors: ``DatabaseNotReady`` (a ``KnowledgeError``) — the configured database
is missing, has no Daoban schema, or has a schema this code does not know; the
message says which and what to run.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from functools import cache
from pathlib import Path
from urllib.parse import quote

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, inspect, make_url, text

from knowledge.errors import KnowledgeError

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
CONNECT_TIMEOUT_S = 3
POOL_TIMEOUT_S = 5
SQLITE_BUSY_TIMEOUT_S = 30
PRIVATE_FILE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700
SETUP_HINT = "run `daoban setup` (`make setup`) to create it, or put the file back (`daoban backup restore`)"


class DatabaseNotReady(KnowledgeError):
    """The configured database cannot be served: missing, never set up, or from a newer Daoban."""


# ---- files ------------------------------------------------------------------


def sqlite_file(url: str) -> Path | None:
    """The file a SQLite URL names; None for PostgreSQL and in-memory SQLite."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite") or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def make_private_dir(path: Path) -> None:
    """Create ``path`` and its missing parents as 0700; folders that already exist are left as they are."""
    missing: list[Path] = []
    folder = Path(path)
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=PRIVATE_DIR_MODE)
        except FileExistsError:  # made meanwhile by another process: not ours to change
            continue
        os.chmod(folder, PRIVATE_DIR_MODE)  # mkdir's mode is filtered by the umask


def create_private_file(path: Path) -> bool:
    """Create an empty file readable by this user only; False when it already exists (it is left alone).

    The mode is set explicitly after creation, so a permissive or a strange umask
    changes nothing; SQLite gives a database's ``-wal`` and ``-shm`` files the
    database file's mode, so they are private too.
    """
    make_private_dir(Path(path).parent)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, PRIVATE_FILE_MODE)
    except FileExistsError:
        return False
    try:
        os.fchmod(descriptor, PRIVATE_FILE_MODE)
    finally:
        os.close(descriptor)
    return True


def file_identity(path: Path | None) -> tuple[int, int] | None:
    """(device, inode) of a file, None when there is none: tells a file from one put in its place."""
    if path is None:
        return None
    try:
        status = os.stat(path)
    except FileNotFoundError:
        return None
    return status.st_dev, status.st_ino


# ---- engines ----------------------------------------------------------------


def make_engine(url: str) -> Engine:
    """An engine for ``url``; for a SQLite file it never creates the file (see the module's docstring)."""
    path = sqlite_file(url)
    if url.startswith("sqlite"):
        connect_args = {"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False}
        if path is None:
            engine = create_engine(url, connect_args=connect_args)
        else:
            engine = create_engine(url, creator=lambda: _connect_existing(path))
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # A database that went away must fail a request in seconds (a 503 the citizen can act on), not hang it:
    # a short connect timeout, a short wait for a pooled connection, and a ping before each checkout so a
    # connection broken while the server restarted is replaced instead of failing the next request.
    return create_engine(url, pool_pre_ping=True, pool_timeout=POOL_TIMEOUT_S,
                         connect_args={"connect_timeout": CONNECT_TIMEOUT_S})


def _connect_existing(path: Path) -> sqlite3.Connection:
    """Open a SQLite file read-write; ``mode=rw`` makes SQLite fail where it would otherwise create the file."""
    uri = f"file:{quote(str(path.absolute()))}?mode=rw"
    return sqlite3.connect(uri, uri=True, timeout=SQLITE_BUSY_TIMEOUT_S, check_same_thread=False)


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_S * 1000}")
    cursor.close()


# ---- creation (set-up only) -------------------------------------------------


def create_database(url: str) -> bool:
    """Create the URL's database when it does not exist; True when it was created. Set-up's first step.

    SQLite: an empty private file (and private folders above it). PostgreSQL:
    the database on the server (``create_database_if_missing``). The schema
    comes afterwards, from ``migrate``.
    """
    path = sqlite_file(url)
    if path is None:
        return create_database_if_missing(url)
    created = create_private_file(path)
    if created:
        logger.info("created database file %s", path)
    return created


def create_database_if_missing(url: str) -> bool:
    """PostgreSQL only: create the URL's database when the server lacks it (set-up of production mode).

    Returns True when it was created. Connects to the server's ``postgres``
    database to do so, as the same user.
    """
    target = make_url(url)
    if not target.drivername.startswith("postgresql") or not target.database:
        return False
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            exists = connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"),
                                        {"name": target.database}).scalar()
            if exists:
                return False
            connection.exec_driver_sql(f'CREATE DATABASE "{target.database}"')
    finally:
        admin.dispose()
    logger.info("created database %s", target.database)
    return True


# ---- schema -----------------------------------------------------------------


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


@cache
def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config("sqlite://"))


def head_revision() -> str:
    """The newest schema revision this code migrates to."""
    head = _scripts().get_current_head()
    assert head is not None, f"no migrations in {MIGRATIONS_DIR}"
    return head


def known_revisions() -> frozenset[str]:
    """Every schema revision this code can migrate from: a database at any other one was written by a newer Daoban."""
    return frozenset(script.revision for script in _scripts().walk_revisions())


def schema_revision(engine: Engine) -> str | None:
    """The database's Alembic revision; None when it has no ``alembic_version`` table (never set up)."""
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def check_revision(revision: str | None, where: str) -> None:
    """Raise ``DatabaseNotReady`` unless ``revision`` is one this code knows (so ``migrate`` can bring it to head)."""
    if revision is None:
        raise DatabaseNotReady(f"{where} has no Daoban schema (no alembic_version table): {SETUP_HINT}")
    if revision not in known_revisions():
        raise DatabaseNotReady(f"{where} is at schema revision {revision!r}, which this version of Daoban does "
                               f"not know (its newest is {head_revision()!r}): it was written by a newer Daoban")


def migrate(engine: Engine) -> None:
    """Bring the database to the newest schema; a no-op when it is already there.

    A SQLite file that does not exist yet is created first (private): migrating
    is how set-up, restore and tests make a database. Serving processes call
    ``open_database`` instead, which refuses a missing one.
    """
    path = sqlite_file(engine.url.render_as_string(hide_password=False))
    if path is not None and create_private_file(path):
        logger.info("created database file %s", path)
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    logger.info("database schema is current (%s)", engine.url.render_as_string(hide_password=True))


# ---- serving ----------------------------------------------------------------


def open_database(url: str) -> Engine:
    """The engine of a database set-up made, migrated to the newest schema: how a serving process opens it.

    Refuses with ``DatabaseNotReady`` when the SQLite file is missing, when the
    database has no Daoban schema, or when its schema is newer than this code;
    it never creates anything.
    """
    path = sqlite_file(url)
    if path is not None and not path.is_file():
        raise DatabaseNotReady(f"the database file {path} does not exist; the service never creates one: {SETUP_HINT}")
    engine = make_engine(url)
    try:
        check_revision(schema_revision(engine), f"the database {make_url(url).render_as_string(hide_password=True)}")
        migrate(engine)
    except BaseException:
        engine.dispose()
        raise
    return engine


def check_writable(engine: Engine) -> None:
    """Raise when the database cannot take a write: its file is missing or read-only, or the server refuses writes.

    Writes nothing: ``alembic_version``'s row is updated to itself in a
    transaction that is rolled back, which a read-only file, file system,
    transaction or standby server refuses like any other write.
    """
    path = sqlite_file(engine.url.render_as_string(hide_password=False))
    if path is not None:
        if not path.is_file():
            raise DatabaseNotReady(f"the database file {path} is missing")
        if not os.access(path, os.W_OK):
            raise DatabaseNotReady(f"the database file {path} is read-only")
    with engine.connect() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = version_num"))
        connection.rollback()
