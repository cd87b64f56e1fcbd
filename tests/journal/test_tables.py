"""Migration 0005 and the table models in journal/tables.py describe the same schema, on both back ends."""

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from journal.tables import Base
from knowledge.database import alembic_config, make_engine, migrate

JOURNAL_TABLES = {"chat_log", "ratings", "unanswered"}


def _only_journal_tables(name, type_, parent_names):  # noqa: ANN001  (Alembic's include_name hook)
    return type_ != "table" or name in JOURNAL_TABLES


def test_migration_and_models_agree(engine):
    assert set(Base.metadata.tables) == JOURNAL_TABLES
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"include_name": _only_journal_tables})
        assert compare_metadata(context, Base.metadata) == []
    inspector = inspect(engine)
    assert {tuple(i["column_names"]) for i in inspector.get_indexes("chat_log")} == {("sender_id",), ("at",)}
    assert [fk["referred_table"] for fk in inspector.get_foreign_keys("ratings")] == ["chat_log"]


def test_downgrade_removes_the_journal_tables_and_upgrade_brings_them_back(database_url):
    engine = make_engine(database_url)
    migrate(engine)
    config = alembic_config(database_url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0004")
    tables = set(inspect(engine).get_table_names())
    assert not JOURNAL_TABLES & tables and "accounts" in tables
    migrate(engine)
    assert JOURNAL_TABLES <= set(inspect(engine).get_table_names())
    engine.dispose()
