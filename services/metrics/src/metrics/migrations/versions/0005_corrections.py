"""Corrections: late events of a published month, published as tables of their own."""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.create_table(
        "corrected_count",
        sa.Column("site_id", sa.Text, primary_key=True),
        sa.Column("period", sa.Text, primary_key=True),
        sa.Column("measure", sa.Text, primary_key=True),
        sa.Column("dimension", sa.Text, primary_key=True),
        sa.Column("value", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "published_correction",
        sa.Column("period", sa.Text, primary_key=True),
        sa.Column("month", sa.Text, nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_published_correction_month", "published_correction", ["month"])


def downgrade() -> None:
    op.drop_table("published_correction")
    op.drop_table("corrected_count")
