"""Backup and restore, on SQLite and PostgreSQL: what was there at backup time comes back exactly."""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import stat
from contextlib import closing
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text

from daoban.backup import BackupDamaged, BackupError, ServiceRunning, create_backup, read_manifest, restore_backup
from daoban.cli import main
from daoban.settings import Settings, load_settings
from hall.bookings import BookingBook
from hall.seed import seed_halls
from hall.tables import BookingRow, TicketMessageRow, TicketRow
from hall.tickets import TicketDesk
from knowledge.database import head_revision, make_engine, migrate
from knowledge.jsonl import read_jsonl
from knowledge.store import KnowledgeStore
from knowledge.tables import RecordRow
from tests.conftest import make_item
from tests.hall.conftest import NOW, booking_request, hall_json, write_halls

COUNTED = (RecordRow, BookingRow, TicketRow, TicketMessageRow)


@pytest.fixture
def backup_settings(tmp_path: Path, database_url: str) -> Settings:
    return load_settings(home=tmp_path / "home", cache_dir=tmp_path / "cache", database_url=database_url)


@pytest.fixture
def engine(backup_settings: Settings) -> Engine:
    engine = make_engine(backup_settings.sqlalchemy_url)
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def filled(engine: Engine, tmp_path: Path) -> KnowledgeStore:
    """Two published items, one booking, one handover ticket with two messages."""
    store = KnowledgeStore(engine)
    store.import_records([make_item(), make_item("T-SB-002", "社会保障卡挂失补换")], actor="test")
    seed_halls(engine, write_halls(tmp_path / "halls.json", hall_json()), NOW)
    BookingBook(engine).book(**booking_request())
    TicketDesk(engine).open(
        sender_id="web-1", channel="web", reason="human", item_code="T-JZ-001", item_name="居住证申领",
        district=None, missing_materials=[], transcript=[("citizen", "我要找人工"), ("bot", "正在为您转人工")],
        now=NOW, reply_within=timedelta(minutes=30),
    )
    return store


def counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {row.__tablename__: connection.execute(select(func.count()).select_from(row)).scalar_one()
                for row in COUNTED}


def test_restore_brings_back_exactly_what_was_backed_up(backup_settings, engine, filled, tmp_path):
    before = {"hash": filled.content_hash(), "revision": filled.revision(), "counts": counts(engine)}
    assert before["counts"]["hall_bookings"] == 1 and before["counts"]["hall_ticket_messages"] == 2
    backup = create_backup(backup_settings, tmp_path / "backups")

    filled.import_records([make_item(summary="改过的说明。"), make_item("T-NEW-009", "新事项")], actor="editor")
    with engine.begin() as connection:
        connection.execute(TicketMessageRow.__table__.delete())
        connection.execute(TicketRow.__table__.delete())
        connection.execute(BookingRow.__table__.delete())
    assert filled.content_hash() != before["hash"]
    backup_settings.index_dir.mkdir(parents=True)
    (backup_settings.index_dir / "manifest.json").write_text("{}")
    engine.dispose()

    restore_backup(backup_settings, backup)

    assert {"hash": filled.content_hash(), "revision": filled.revision(), "counts": counts(engine)} == before
    assert filled.get("T-JZ-001").summary == make_item().summary
    assert not backup_settings.index_dir.exists(), "the index must be rebuilt from the restored base"


def test_manifest_describes_the_backup(backup_settings, engine, filled, tmp_path):
    backup = create_backup(backup_settings, tmp_path / "backups")

    assert backup.name.startswith("daoban-backup-") and backup.name.endswith("Z")
    manifest = json.loads((backup / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["mode"] == "embedded"
    kind = "sqlite" if backup_settings.sqlalchemy_url.startswith("sqlite") else "postgresql"
    assert manifest["database"]["kind"] == kind
    with engine.connect() as connection:
        assert manifest["database"]["alembic_revision"] == connection.execute(
            text("SELECT version_num FROM alembic_version")).scalar()
    assert manifest["knowledge"] == {"revision": filled.revision(), "content_hash": filled.content_hash(),
                                     "records": 2}
    database_file = "daoban.db" if kind == "sqlite" else "daoban.dump"
    assert {database_file, "knowledge/items.jsonl"} <= set(manifest["files"])
    assert all(len(entry["sha256"]) == 64 for entry in manifest["files"].values())
    exported = read_jsonl(sorted((backup / "knowledge").glob("*.jsonl")))
    assert sorted(r.code for r in exported) == ["T-JZ-001", "T-SB-002"]
    assert read_manifest(backup) == manifest
    assert not list((tmp_path / "backups").glob(".*")), "no partial folder is left behind"


def test_a_tampered_file_is_refused_by_name(backup_settings, engine, filled, tmp_path):
    backup = create_backup(backup_settings, tmp_path / "backups")
    with open(backup / "knowledge" / "items.jsonl", "a", encoding="utf-8") as handle:
        handle.write("\n")
    filled.import_records([make_item(summary="备份之后的修改。")], actor="editor")
    after = filled.content_hash()

    with pytest.raises(BackupDamaged, match="items.jsonl is damaged"):
        restore_backup(backup_settings, backup)
    assert filled.content_hash() == after, "nothing was restored"

    (backup / "knowledge" / "items.jsonl").unlink()
    with pytest.raises(BackupDamaged, match="items.jsonl is missing"):
        restore_backup(backup_settings, backup)


def test_restore_refuses_while_the_service_runs_unless_forced(backup_settings, engine, filled, tmp_path):
    backup = create_backup(backup_settings, tmp_path / "backups")
    backup_settings.run_dir.mkdir(parents=True)
    (backup_settings.run_dir / "api.pid").write_text(str(os.getpid()))

    with pytest.raises(ServiceRunning, match=r"\(api\).*make stop"):
        restore_backup(backup_settings, backup)
    restore_backup(backup_settings, backup, force=True)


def test_a_stale_pid_file_does_not_block_restore(backup_settings, engine, filled, tmp_path):
    backup = create_backup(backup_settings, tmp_path / "backups")
    backup_settings.run_dir.mkdir(parents=True)
    (backup_settings.run_dir / "api.pid").write_text("999999999")

    restore_backup(backup_settings, backup)


def test_rasa_tracker_file_is_backed_up_and_restored(tmp_path):
    settings = load_settings(home=tmp_path / "home", cache_dir=tmp_path / "cache")
    migrate(make_engine(settings.sqlalchemy_url))
    tracker = settings.home / "rasa" / "tracker.db"
    tracker.parent.mkdir(parents=True)
    with sqlite3.connect(tracker) as connection:
        connection.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id TEXT)")
        connection.execute("INSERT INTO events (sender_id) VALUES ('web-1')")
    backup = create_backup(settings, tmp_path / "backups")
    assert "rasa/tracker.db" in read_manifest(backup)["files"]
    with sqlite3.connect(tracker) as connection:
        connection.execute("INSERT INTO events (sender_id) VALUES ('web-2')")

    restore_backup(settings, backup)

    with sqlite3.connect(tracker) as connection:
        assert connection.execute("SELECT sender_id FROM events").fetchall() == [("web-1",)]


def test_a_backup_of_another_database_kind_is_refused(backup_settings, engine, filled, tmp_path):
    backup = create_backup(backup_settings, tmp_path / "backups")
    other = "postgresql+psycopg://nobody@127.0.0.1:1/none" if backup_settings.sqlalchemy_url.startswith("sqlite") \
        else f"sqlite:///{tmp_path / 'other.db'}"
    with pytest.raises(BackupError, match="holds a"):
        restore_backup(load_settings(home=tmp_path / "home", database_url=other), backup)


def test_cli_creates_and_restores(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DAOBAN_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("DAOBAN_DATABASE_URL", raising=False)
    migrate(make_engine(load_settings().sqlalchemy_url))

    assert main(["backup", "create"]) == 0
    backup = Path(capsys.readouterr().out.strip())
    assert backup.parent == tmp_path / "home" / "backups"

    (tmp_path / "home" / "run").mkdir()
    (tmp_path / "home" / "run" / "rasa.pid").write_text(str(os.getpid()))
    assert main(["backup", "restore", str(backup)]) == 2
    assert main(["backup", "restore", str(backup), "--force"]) == 0
    assert main(["backup", "restore", str(tmp_path / "nowhere")]) == 2


# ---- a backup that cannot be used leaves the live database as it was ----------------------------------------------


def live_state(settings: Settings, engine: Engine, store: KnowledgeStore) -> dict:
    """What must not change when a restore is refused: the SQLite file byte for byte and the folder around it,
    or on PostgreSQL what the tables hold."""
    engine.dispose()  # SQLite folds its write-ahead log into the file when the last connection closes
    state = {"hash": store.content_hash(), "counts": counts(engine)}
    engine.dispose()
    if settings.sqlalchemy_url.startswith("sqlite"):
        database = Path(settings.sqlalchemy_url.split("///", 1)[1])
        state["bytes"] = database.read_bytes()
        state["folder"] = sorted(p.name for p in database.parent.iterdir())
    return state


def rewrite_manifest(backup: Path, name: str, **database: str) -> None:
    """Make the manifest vouch for a changed file, as someone who knew the format could."""
    manifest = json.loads((backup / "manifest.json").read_text(encoding="utf-8"))
    manifest["files"][name]["sha256"] = hashlib.sha256((backup / name).read_bytes()).hexdigest()
    manifest["database"].update(database)
    (backup / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


def database_file_name(settings: Settings) -> str:
    return "daoban.db" if settings.sqlalchemy_url.startswith("sqlite") else "daoban.dump"


def test_a_backup_whose_database_is_garbage_is_refused_before_anything_is_touched(
        backup_settings, engine, filled, tmp_path):
    backup = create_backup(backup_settings, tmp_path / "backups")
    name = database_file_name(backup_settings)
    (backup / name).write_bytes(b"this is not a database " * 500)
    rewrite_manifest(backup, name)
    filled.import_records([make_item(summary="备份之后的修改。")], actor="editor")
    before = live_state(backup_settings, engine, filled)

    with pytest.raises(BackupError, match=f"{name}.*nothing was restored"):
        restore_backup(backup_settings, backup)

    assert live_state(backup_settings, engine, filled) == before


def test_a_backup_from_a_newer_daoban_is_refused_before_anything_is_touched(backup_settings, engine, filled, tmp_path):
    """Its checksums are right: it is whole, only its schema is one this version does not know."""
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999_from_the_future'"))
    backup = create_backup(backup_settings, tmp_path / "backups")
    assert read_manifest(backup)["database"]["alembic_revision"] == "9999_from_the_future"
    migrate_back = text("UPDATE alembic_version SET version_num = :head")
    with engine.begin() as connection:
        connection.execute(migrate_back, {"head": head_revision()})
    filled.import_records([make_item(summary="备份之后的修改。")], actor="editor")
    before = live_state(backup_settings, engine, filled)

    with pytest.raises(BackupError, match="9999_from_the_future.*newer Daoban.*nothing was restored"):
        restore_backup(backup_settings, backup)

    assert live_state(backup_settings, engine, filled) == before


def test_a_database_whose_revision_differs_from_the_manifest_is_refused(tmp_path):
    settings = load_settings(home=tmp_path / "home", cache_dir=tmp_path / "cache")
    engine = make_engine(settings.sqlalchemy_url)
    migrate(engine)
    backup = create_backup(settings, tmp_path / "backups")
    with closing(sqlite3.connect(backup / "daoban.db")) as connection, connection:
        connection.execute("UPDATE alembic_version SET version_num = '0001'")
    rewrite_manifest(backup, "daoban.db")
    before = live_state(settings, engine, KnowledgeStore(engine))

    with pytest.raises(BackupDamaged, match="schema revision '0001', its manifest says"):
        restore_backup(settings, backup)
    assert live_state(settings, engine, KnowledgeStore(engine)) == before


@pytest.mark.parametrize("linked", ["daoban.db", "knowledge/items.jsonl", "knowledge"])
def test_a_symbolic_link_in_a_backup_is_refused_by_name(linked, tmp_path):
    """Even one pointing at a file with the very content the manifest vouches for."""
    settings = load_settings(home=tmp_path / "home", cache_dir=tmp_path / "cache")
    engine = make_engine(settings.sqlalchemy_url)
    migrate(engine)
    backup = create_backup(settings, tmp_path / "backups")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (backup / linked).rename(elsewhere / "target")
    (backup / linked).symlink_to(elsewhere / "target")
    before = live_state(settings, engine, KnowledgeStore(engine))

    with pytest.raises(BackupError, match=f"{re.escape(str(backup / linked))} is a symbolic link"):
        restore_backup(settings, backup)
    with pytest.raises(BackupError, match="symbolic link"):
        read_manifest(backup)
    assert live_state(settings, engine, KnowledgeStore(engine)) == before


def test_the_replaced_database_is_kept_aside_and_named(tmp_path):
    settings = load_settings(home=tmp_path / "home", cache_dir=tmp_path / "cache")
    engine = make_engine(settings.sqlalchemy_url)
    migrate(engine)
    store = KnowledgeStore(engine)
    backup = create_backup(settings, tmp_path / "backups")
    store.import_records([make_item("T-AFTER-1", "备份之后的事项")], actor="editor")
    engine.dispose()

    restored = restore_backup(settings, backup)

    database = settings.home / "daoban.db"
    [kept] = restored.kept
    assert kept.parent == database.parent and kept.name.startswith("daoban.db.replaced-")
    assert kept.stat().st_mode & 0o777 == 0o600
    assert store.count() == 0, "the live database is the backup's"
    aside = make_engine(f"sqlite:///{kept}")
    assert KnowledgeStore(aside).get("T-AFTER-1").name == "备份之后的事项"
    aside.dispose()
    assert not list(database.parent.glob(".*restoring*")), "no staged copy is left behind"
    assert restored.manifest == read_manifest(backup)


def test_a_tracker_file_that_the_backup_lacks_is_set_aside_not_deleted(tmp_path):
    settings = load_settings(home=tmp_path / "home", cache_dir=tmp_path / "cache")
    migrate(make_engine(settings.sqlalchemy_url))
    backup = create_backup(settings, tmp_path / "backups")
    tracker = settings.home / "rasa" / "tracker.db"
    tracker.parent.mkdir()
    with closing(sqlite3.connect(tracker)) as connection, connection:
        connection.execute("CREATE TABLE events (sender_id TEXT)")

    restored = restore_backup(settings, backup)

    assert not tracker.exists()
    assert [p.name.split(".replaced-")[0] for p in restored.kept] == ["daoban.db", "tracker.db"]


def test_backups_are_private_whatever_the_umask(tmp_path):
    settings = load_settings(home=tmp_path / "home", cache_dir=tmp_path / "cache")
    migrate(make_engine(settings.sqlalchemy_url))
    tracker = settings.home / "rasa" / "tracker.db"
    tracker.parent.mkdir()
    with closing(sqlite3.connect(tracker)) as connection, connection:
        connection.execute("CREATE TABLE events (sender_id TEXT)")
    previous = os.umask(0o002)
    try:
        backup = create_backup(settings, tmp_path / "backups")
    finally:
        os.umask(previous)

    assert mode(tmp_path / "backups") == mode(backup) == 0o700
    entries = list(backup.rglob("*"))
    assert {"daoban.db", "manifest.json", "rasa", "tracker.db", "items.jsonl"} <= {p.name for p in entries}
    assert {p.relative_to(backup).as_posix(): mode(p) for p in entries} == {
        p.relative_to(backup).as_posix(): 0o700 if p.is_dir() else 0o600 for p in entries}


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)
