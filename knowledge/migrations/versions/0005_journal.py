"""The conversation journal: messages, citizens' ratings of them, questions the bot declined.

The table models are in ``journal/tables.py`` (a ``DeclarativeBase`` of their
own); ``tests/knowledge/test_store.py`` and ``tests/journal/test_tables.py``
check that this migration and those models agree.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "chat_log",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("sender_id", sa.String(200), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("item_code", sa.String(64), nullable=True),
        sa.Column("item_version", sa.Integer, nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_chat_log_sender_id", "chat_log", ["sender_id"])
    op.create_index("ix_chat_log_at", "chat_log", ["at"])
    op.create_table(
        "ratings",
        sa.Column("message_id", sa.String(32), sa.ForeignKey("chat_log.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("sender_id", sa.String(200), nullable=False),
        sa.Column("useful", sa.Boolean, nullable=False),
        sa.Column("reason", sa.String(200), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "unanswered",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("sender_id", sa.String(200), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_unanswered_key", "unanswered", ["key"])
    op.create_index("ix_unanswered_at", "unanswered", ["at"])


def downgrade() -> None:
    op.drop_table("unanswered")
    op.drop_table("ratings")
    op.drop_table("chat_log")
