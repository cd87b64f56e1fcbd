"""Backup and restore, on SQLite and PostgreSQL: what was there at backup time comes back exactly."""

from __future__ import annotations

import json
import os
import sqlite3
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
from knowledge.database import make_engine, migrate
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
