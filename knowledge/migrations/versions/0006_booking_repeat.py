"""One booking per repeated confirmation: a partial unique index over booked appointments.

A citizen whose "确认" reached the database but whose reply was lost (an action
server killed after the commit, a timeout) sends it again; without this the
retry would take a second place. ``BookingBook.book`` returns the existing
booking, and this index makes that hold when both arrive at once.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

COLUMNS = ["sender_id", "item_code", "hall_code", "day", "slot_label", "name", "phone"]
BOOKED = sa.text("status = 'booked'")


def upgrade() -> None:
    op.create_index("uq_hall_bookings_repeat", "hall_bookings", COLUMNS, unique=True,
                    sqlite_where=BOOKED, postgresql_where=BOOKED)


def downgrade() -> None:
    op.drop_index("uq_hall_bookings_repeat", table_name="hall_bookings")
