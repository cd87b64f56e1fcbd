"""The API opens only a database `daoban setup` made: it never creates one, and says what to run instead."""

from __future__ import annotations

import sqlite3
from contextlib import closing

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from knowledge.database import DatabaseNotReady, make_engine, migrate
from service.main import create_app
from tests.service.citizens import say


def database_file(settings):
    return settings.home / "daoban.db"


def move_away(settings, tmp_path):
    for name in ("daoban.db", "daoban.db-wal", "daoban.db-shm"):
        if (settings.home / name).exists():
            (settings.home / name).rename(tmp_path / name)


def test_the_api_refuses_to_start_without_its_database_file_and_creates_none(settings, tmp_path, caplog):
    move_away(settings, tmp_path)

    with pytest.raises(DatabaseNotReady, match=r"daoban\.db does not exist.*never creates one.*daoban setup"):
        create_app(settings)

    assert not database_file(settings).exists()
    assert "the API does not start" in caplog.text


def test_the_api_refuses_a_database_that_was_never_set_up(settings, tmp_path):
    move_away(settings, tmp_path)
    database_file(settings).touch()  # an empty file is an empty SQLite database

    with pytest.raises(DatabaseNotReady, match="has no Daoban schema.*daoban setup"):
        create_app(settings)
    with closing(sqlite3.connect(database_file(settings))) as connection:
        assert connection.execute("SELECT name FROM sqlite_master").fetchall() == [], "no schema was created in it"


def test_the_api_refuses_a_database_from_a_newer_daoban(settings):
    engine = make_engine(f"sqlite:///{database_file(settings)}")
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999_from_the_future'"))
    engine.dispose()

    with pytest.raises(DatabaseNotReady, match="'9999_from_the_future'.*newer Daoban"):
        create_app(settings)


def test_an_engine_never_creates_a_sqlite_file(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'nowhere' / 'daoban.db'}")
    with pytest.raises(OperationalError, match="unable to open database file"):
        engine.connect()
    assert not (tmp_path / "nowhere").exists()
    engine.dispose()


def test_migrating_is_how_a_database_is_made(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'new' / 'daoban.db'}")
    migrate(engine)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
    engine.dispose()


def test_a_database_file_moved_away_while_the_api_runs_is_not_recreated(client, settings, tmp_path):
    assert client.get("/healthz").json()["components"]["database"]["up"] is True
    move_away(settings, tmp_path)

    health = client.get("/healthz")
    say(client, "web-moved", "你好")

    assert health.status_code == 503
    assert "daoban.db is missing" in health.json()["components"]["database"]["detail"]
    assert not database_file(settings).exists()
