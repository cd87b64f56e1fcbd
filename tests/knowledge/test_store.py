import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from accounts.tables import Base as AccountsBase
from hall.tables import Base as HallBase
from journal.tables import Base as JournalBase
from knowledge.database import alembic_config, make_engine, migrate
from knowledge.errors import RecordNotFound
from knowledge.schema import Material
from knowledge.store import KnowledgeStore
from knowledge.tables import Base


def test_migrations_create_the_tables_and_are_idempotent(store):
    migrate(store.engine)  # second run must be a no-op
    tables = set(inspect(store.engine).get_table_names())
    assert {"kb_records", "kb_record_versions", "kb_drafts", "kb_audit", "kb_counters", "alembic_version"} <= tables


def test_migrations_match_the_table_models(store):
    """A table changed in tables.py without a migration (or the reverse) shows up here."""
    with store.engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), [Base.metadata, HallBase.metadata, AccountsBase.metadata, JournalBase.metadata]) == []


def test_store_runs_on_the_backend_asked_for(store, database_url):
    assert store.engine.dialect.name == ("sqlite" if database_url.startswith("sqlite") else "postgresql")


def test_upgrade_from_0001_starts_the_counter_at_the_highest_revision(database_url, records):
    engine = make_engine(database_url)
    config = alembic_config(database_url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO kb_records (code, kind, name, status, version, revision, data, updated_at) "
            "VALUES ('OLD-1', 'item', '旧事项', 'published', 1, 7, '{}', '2026-01-01T00:00:00+00:00')"
        ))
    migrate(engine)
    assert KnowledgeStore(engine).import_records(records[:1], actor="test").revision == 8
    with engine.begin() as connection:  # and back down, through SQLite's batch mode
        config.attributes["connection"] = connection
        command.downgrade(config, "0001")
    assert "kb_drafts" not in inspect(engine).get_table_names()
    engine.dispose()


def test_names_as_long_as_the_schema_allows_fit_on_every_backend(store, records):
    long_name = "长" * 2000  # kb_records.name was 400 characters, which PostgreSQL enforces
    store.import_records([records[0].model_copy(update={"name": long_name})], actor="test")
    assert store.get("T-JZ-001").name == long_name


def test_import_creates_then_skips_unchanged(store, records):
    first = store.import_records(records, actor="test")
    assert sorted(first.created) == sorted(r.code for r in records)
    second = store.import_records(records, actor="test")
    assert sorted(second.unchanged) == sorted(r.code for r in records)
    assert store.get("T-JZ-001").version == 1
    assert second.revision == first.revision == store.revision()  # an idle import gives out no revision
    assert store.import_records(records[:1], actor="test").revision == first.revision


def test_changed_record_gets_next_version_and_revision(seeded_store, records):
    before = seeded_store.revision()
    edited = records[0].model_copy(update={"materials": [*records[0].materials, Material(name="居住证明")]})
    summary = seeded_store.import_records([edited], actor="editor")
    assert summary.updated == ["T-JZ-001"]
    assert seeded_store.get("T-JZ-001").version == 2
    changes = seeded_store.changes_since(before)
    assert [r.code for r in changes.upserted] == ["T-JZ-001"]
    assert changes.revision == before + 1


def test_content_hash_follows_versions(seeded_store, records):
    before = seeded_store.content_hash()
    seeded_store.import_records(records, actor="test")
    assert seeded_store.content_hash() == before
    seeded_store.import_records([records[1].model_copy(update={"summary": "身份证丢失后补领。"})], actor="test")
    assert seeded_store.content_hash() != before


def test_failed_import_leaves_nothing_behind(store, records):
    broken = records[1].model_copy(update={"name": None})  # passes model_copy, fails on write
    with pytest.raises(Exception):
        store.import_records([records[0], broken], actor="test")
    assert store.count() == 0
    with pytest.raises(RecordNotFound):
        store.get("T-JZ-001")
