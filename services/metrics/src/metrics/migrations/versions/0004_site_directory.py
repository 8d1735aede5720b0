"""The authority's site directory (region, staff count) and each quarter's copy of it.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "site",
        sa.Column("site_id", sa.Text, primary_key=True),
        sa.Column("region", sa.Text, nullable=True),
        sa.Column("staff_count", sa.Integer, nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "quarter_directory",
        sa.Column("quarter", sa.Text, primary_key=True),
        sa.Column("sites", JSONB, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("quarter_directory")
    op.drop_table("site")
