"""Closed months frozen as published, and shadow tables for a rebuild from history.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("UPDATE aggregate SET dimension = 'total' WHERE dimension = 'all'")
    op.create_table(
        "closed_count",
        sa.Column("site_id", sa.Text, primary_key=True),
        sa.Column("period", sa.Text, primary_key=True),
        sa.Column("measure", sa.Text, primary_key=True),
        sa.Column("dimension", sa.Text, primary_key=True),
        sa.Column("value", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "published_cell",
        sa.Column("scope", sa.Text, primary_key=True),
        sa.Column("period", sa.Text, primary_key=True),
        sa.Column("measure", sa.Text, primary_key=True),
        sa.Column("dimension", sa.Text, primary_key=True),
        sa.Column("value", sa.BigInteger, nullable=False),
        sa.Column("withheld", sa.Boolean, nullable=False),
    )
    op.create_table(
        "published_month",
        sa.Column("month", sa.Text, primary_key=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
    )
    for name, value_type, count in (("aggregate", sa.Text, "value"), ("distribution", sa.Integer, "count")):
        op.create_table(
            f"{name}_rebuilt",
            sa.Column("site_id", sa.Text, primary_key=True),
            sa.Column("period", sa.Text, primary_key=True),
            sa.Column("measure", sa.Text, primary_key=True),
            sa.Column("dimension" if name == "aggregate" else "value", value_type, primary_key=True),
            sa.Column(count, sa.BigInteger, nullable=False),
        )


def downgrade() -> None:
    for name in ("published_month", "published_cell", "closed_count"):
        op.drop_table(name)
    for name in ("distribution_rebuilt", "aggregate_rebuilt"):
        op.drop_table(name)
    op.execute("UPDATE aggregate SET dimension = 'all' WHERE dimension = 'total'")
