"""Migrations 0003, 0006 and 0008 and the table models in hall/tables.py describe the same schema, on both back ends."""

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import UniqueConstraint, inspect

from hall.tables import Base
from knowledge.database import alembic_config, make_engine, migrate

HALL_TABLES = {"hall_halls", "hall_slot_counts", "hall_bookings", "hall_tickets", "hall_ticket_messages",
               "hall_lookup_failures"}


def _only_hall_tables(name, type_, parent_names):  # noqa: ANN001  (Alembic's include_name hook)
    return type_ != "table" or name in HALL_TABLES


def test_migration_creates_exactly_the_modelled_tables(engine):
    assert set(Base.metadata.tables) == HALL_TABLES
    inspector = inspect(engine)
    assert HALL_TABLES <= set(inspector.get_table_names())
    for name, table in Base.metadata.tables.items():
        migrated = {column["name"]: column for column in inspector.get_columns(name)}
        assert set(migrated) == set(table.columns.keys()), name
        for column in table.columns:
            assert migrated[column.name]["nullable"] == column.nullable, f"{name}.{column.name}"
        assert set(inspector.get_pk_constraint(name)["constrained_columns"]) == {c.name for c in table.primary_key}
        indexes = {
            index["name"]: (tuple(index["column_names"]), bool(index["unique"]))
            for index in inspector.get_indexes(name)
            if not index.get("duplicates_constraint")  # PostgreSQL lists a unique constraint's own index too
        }
        modelled = {index.name: (tuple(c.name for c in index.columns), bool(index.unique)) for index in table.indexes}
        assert indexes == modelled, name
        uniques = {tuple(u["column_names"]) for u in inspector.get_unique_constraints(name)}
        assert uniques == {
            tuple(c.name for c in constraint.columns)
            for constraint in table.constraints
            if isinstance(constraint, UniqueConstraint)
        }, name


def test_migration_and_models_agree_for_alembic(engine):
    """What ``alembic revision --autogenerate`` would write for the hall tables: nothing."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"include_name": _only_hall_tables})
        assert compare_metadata(context, Base.metadata) == []


def _downgraded(database_url: str, revision: str):
    """An engine on a database migrated to the head, then down to ``revision``."""
    engine = make_engine(database_url)
    migrate(engine)
    config = alembic_config(database_url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)
    return engine


def test_downgrade_removes_the_hall_tables_and_upgrade_brings_them_back(database_url):
    engine = _downgraded(database_url, "0002")
    assert not HALL_TABLES & set(inspect(engine).get_table_names())
    migrate(engine)
    assert HALL_TABLES <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_downgrade_to_0007_removes_only_the_lookup_failures(database_url):
    engine = _downgraded(database_url, "0007")
    tables = set(inspect(engine).get_table_names())
    assert "hall_lookup_failures" not in tables and HALL_TABLES - {"hall_lookup_failures"} <= tables
    migrate(engine)
    assert {"ix_hall_lookup_failures_reference", "ix_hall_lookup_failures_failed_at"} == {
        index["name"] for index in inspect(engine).get_indexes("hall_lookup_failures")}
    engine.dispose()
