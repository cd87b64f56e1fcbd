"""What kind each bot message was, which records it was about, and the choices it offered.

A citizen answers the bot's choices by typing as often as by tapping ("第二个",
"补办的"): the service reads a reply against the choices of the bot's last turn,
which must survive a restart and be the same for every API worker, so they are
kept with the message. The kind (answer, clarify, form, decline …) is what the
action said it was doing; the editors' figures and the dialogue benchmark count by it.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("chat_log") as batch:
        batch.add_column(sa.Column("kind", sa.String(16), nullable=True))
        batch.add_column(sa.Column("buttons", sa.Text(), nullable=True))
        batch.add_column(sa.Column("about", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("chat_log") as batch:
        batch.drop_column("about")
        batch.drop_column("buttons")
        batch.drop_column("kind")
