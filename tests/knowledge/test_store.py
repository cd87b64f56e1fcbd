import pytest
from sqlalchemy import inspect

from knowledge.database import migrate
from knowledge.errors import RecordNotFound
from knowledge.schema import Material


def test_migrations_create_the_tables_and_are_idempotent(store):
    migrate(store.engine)  # second run must be a no-op
    tables = set(inspect(store.engine).get_table_names())
    assert {"kb_records", "kb_record_versions", "alembic_version"} <= tables


def test_import_creates_then_skips_unchanged(store, records):
    first = store.import_records(records, actor="test")
    assert sorted(first.created) == sorted(r.code for r in records)
    second = store.import_records(records, actor="test")
    assert sorted(second.unchanged) == sorted(r.code for r in records)
    assert store.get("T-JZ-001").version == 1


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
