"""Drafts, the audit log and the revision counter; record names as long as the schema allows.

The counter starts at the highest revision already given out, so readers that
remember a revision keep catching up correctly across the upgrade.
``kb_records.name`` grows to 2000 characters (the schema's limit): SQLite never
enforced 400, PostgreSQL does, and an import must not succeed on one and fail
on the other. On PostgreSQL, 0001 gave ``kb_records.code`` both a unique
constraint and a unique index; the constraint (a second B-tree on every write)
goes, the index the table model declares stays. SQLite keeps its table as it is.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("kb_records") as batch:
        batch.alter_column("name", type_=sa.String(2000), existing_type=sa.String(400), existing_nullable=False)
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint("kb_records_code_key", "kb_records", type_="unique")
    op.create_table(
        "kb_drafts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("code", sa.String(64), nullable=False, unique=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("name", sa.String(2000), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("base_version", sa.Integer, nullable=False),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("actor", sa.String(120), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "kb_audit",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(120), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=True),
        sa.Column("summary", sa.String(500), nullable=False),
    )
    op.create_index("ix_kb_audit_actor", "kb_audit", ["actor"])
    op.create_index("ix_kb_audit_code", "kb_audit", ["code"])
    counters = op.create_table(
        "kb_counters",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("value", sa.Integer, nullable=False),
    )
    highest = op.get_bind().scalar(sa.text("SELECT COALESCE(MAX(revision), 0) FROM kb_records"))
    op.bulk_insert(counters, [{"name": "revision", "value": int(highest or 0)}])


def downgrade() -> None:
    op.drop_table("kb_counters")
    op.drop_index("ix_kb_audit_code", table_name="kb_audit")
    op.drop_index("ix_kb_audit_actor", table_name="kb_audit")
    op.drop_table("kb_audit")
    op.drop_table("kb_drafts")
    if op.get_bind().dialect.name == "postgresql":
        op.create_unique_constraint("kb_records_code_key", "kb_records", ["code"])
    with op.batch_alter_table("kb_records") as batch:
        batch.alter_column("name", type_=sa.String(400), existing_type=sa.String(2000), existing_nullable=False)
