"""Database back ends for tests: a SQLite file, or a fresh PostgreSQL schema.

Production runs on PostgreSQL and development on SQLite, so the store's tests
run on both (``database_url`` is parametrised). One database per test session
(``daoban_test_<random>``, dropped at the end), one schema per test, chosen
through the connection's ``search_path`` so the URL alone says where to go.

PostgreSQL is checked for in one place, ``postgres_database``: when it cannot be
reached, the PostgreSQL half of the tests fails with a message saying where it
looked and how to point elsewhere. It never skips: CI has PostgreSQL, and a
skipped back end is an untested one.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import URL, Engine, create_engine, make_url
from sqlalchemy.exc import OperationalError

from knowledge.database import make_engine, migrate

POSTGRES_URL_ENV = "DAOBAN_TEST_POSTGRES_URL"
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
BACKENDS = ("sqlite", "postgres")


def _admin_url() -> URL:
    return make_url(os.environ.get(POSTGRES_URL_ENV) or DEFAULT_POSTGRES_URL)


def _execute(url: URL, *statements: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            for statement in statements:
                connection.exec_driver_sql(statement)
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[URL]:
    """A database of its own for this test session, on the server ``DAOBAN_TEST_POSTGRES_URL`` names."""
    admin = _admin_url()
    try:
        _execute(admin, "SELECT 1")
        unreachable = ""
    except OperationalError as exc:
        unreachable = str(exc.orig or exc).strip().splitlines()[0]
    if unreachable:  # failed outside the except block, so the report is this message, not a traceback chain
        pytest.fail(
            f"PostgreSQL is unreachable at {admin.render_as_string(hide_password=True)} ({unreachable}). "
            f"The store tests run on SQLite and PostgreSQL: start PostgreSQL or set {POSTGRES_URL_ENV} "
            "to the URL of a server where you may create databases.",
            pytrace=False,
        )
    name = f"daoban_test_{secrets.token_hex(4)}"
    _execute(admin, f'CREATE DATABASE "{name}"')
    try:
        yield admin.set(database=name)
    finally:
        _execute(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def postgres_url(postgres_database: URL) -> Iterator[str]:
    """A URL whose connections see only a fresh, empty schema."""
    schema = f"t_{secrets.token_hex(6)}"
    _execute(postgres_database, f'CREATE SCHEMA "{schema}"')
    url = postgres_database.update_query_dict({"options": f"-csearch_path={schema}"})
    yield url.render_as_string(hide_password=False)
    _execute(postgres_database, f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """A migrated database, SQLite or PostgreSQL (``database_url`` is parametrised over both)."""
    engine = make_engine(database_url)
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'kb.db'}"
    return request.getfixturevalue("postgres_url")
