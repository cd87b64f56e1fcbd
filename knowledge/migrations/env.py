"""Alembic environment: runs on the connection handed over by ``knowledge.database.migrate``."""

from alembic import context
from sqlalchemy import create_engine

from accounts.tables import Base as AccountsBase
from hall.tables import Base as HallBase
from journal.tables import Base as JournalBase
from knowledge.tables import Base

config = context.config
# one database, one migration chain: the knowledge tables, the hall's own, the staff accounts and the journal
target_metadata = [Base.metadata, HallBase.metadata, AccountsBase.metadata, JournalBase.metadata]


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.begin() as conn:
        context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
