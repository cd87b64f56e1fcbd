"""The service hall's own data: halls, slot counts and bookings, handover tickets and their messages.

The table models are in ``hall/tables.py`` (a ``DeclarativeBase`` of their own);
``tests/hall/test_tables.py`` checks that this migration and those models agree.
``uq_hall_tickets_active_sender`` is a partial unique index (SQLite and
PostgreSQL both have them): at most one waiting or taken ticket per sender.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_ACTIVE = sa.text("status IN ('waiting', 'taken')")


def upgrade() -> None:
    op.create_table(
        "hall_halls",
        sa.Column("code", sa.String(64), primary_key=True),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "hall_slot_counts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("hall_code", sa.String(64), nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("slot_label", sa.String(16), nullable=False),
        sa.Column("capacity", sa.Integer, nullable=False),
        sa.Column("booked", sa.Integer, nullable=False),
        sa.UniqueConstraint("hall_code", "day", "slot_label", name="uq_hall_slot_counts_slot"),
    )
    op.create_table(
        "hall_bookings",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("reference", sa.String(16), nullable=False),
        sa.Column("sender_id", sa.String(200), nullable=False),
        sa.Column("item_code", sa.String(64), nullable=False),
        sa.Column("item_name", sa.String(400), nullable=False),
        sa.Column("hall_code", sa.String(64), nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("slot_label", sa.String(16), nullable=False),
        sa.Column("name", sa.String(60), nullable=False),
        sa.Column("phone", sa.String(20), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_hall_bookings_reference", "hall_bookings", ["reference"], unique=True)
    op.create_index("ix_hall_bookings_sender_id", "hall_bookings", ["sender_id"])
    op.create_index("ix_hall_bookings_hall_day", "hall_bookings", ["hall_code", "day"])
    op.create_table(
        "hall_tickets",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("number", sa.String(16), nullable=False),
        sa.Column("sender_id", sa.String(200), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("item_code", sa.String(64), nullable=True),
        sa.Column("item_name", sa.String(400), nullable=True),
        sa.Column("district", sa.String(64), nullable=True),
        sa.Column("missing_materials", sa.JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("assignee", sa.String(120), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reply_due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_response_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_hall_tickets_number", "hall_tickets", ["number"], unique=True)
    op.create_index("ix_hall_tickets_sender_id", "hall_tickets", ["sender_id"])
    op.create_index("ix_hall_tickets_status", "hall_tickets", ["status"])
    op.create_index(
        "uq_hall_tickets_active_sender", "hall_tickets", ["sender_id"], unique=True,
        sqlite_where=_ACTIVE, postgresql_where=_ACTIVE,
    )
    op.create_table(
        "hall_ticket_messages",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("ticket_id", sa.Integer, sa.ForeignKey("hall_tickets.id", ondelete="CASCADE"), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_hall_ticket_messages_ticket_id", "hall_ticket_messages", ["ticket_id"])


def downgrade() -> None:
    op.drop_table("hall_ticket_messages")
    op.drop_table("hall_tickets")
    op.drop_table("hall_bookings")
    op.drop_table("hall_slot_counts")
    op.drop_table("hall_halls")
