"""Failed look-ups of a booking by reference and phone, counted to lock a reference against guessing.

A reference shows the phone it was made with masked (139****5670): four
unknown digits are ten thousand tries, which a script makes in minutes with a
fresh conversation each time. ``BookingBook`` writes a row here for every
look-up that matches nothing and refuses a reference with too many recent ones,
for every action server worker alike, since the count is in the database. Rows
are deleted as they age past the longest lock, so nothing here is kept for long.

The table model is ``LookupFailureRow`` in ``hall/tables.py``;
``tests/hall/test_tables.py`` checks that this migration and the model agree.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hall_lookup_failures",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("reference", sa.String(16), nullable=False),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_hall_lookup_failures_reference", "hall_lookup_failures", ["reference"])
    op.create_index("ix_hall_lookup_failures_failed_at", "hall_lookup_failures", ["failed_at"])


def downgrade() -> None:
    op.drop_table("hall_lookup_failures")
