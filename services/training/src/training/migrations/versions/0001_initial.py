"""Course catalogue, supporters, certifications.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op
from servicekit.migrations import create_plumbing_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_plumbing_tables()
    op.create_table(
        "course",
        sa.Column("code", sa.Text, primary_key=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("validity_days", sa.Integer),
        sa.Column("required", sa.Boolean, nullable=False),
    )
    op.create_table(
        "supporter",
        sa.Column("staff_ref", sa.Text, primary_key=True),
        sa.Column("home_site", sa.Text, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("tier", sa.SmallInteger, nullable=False),
        sa.Column("eligible", sa.Boolean),
        sa.Column("eligibility_version", sa.BigInteger, nullable=False, server_default="0"),
    )
    op.create_table(
        "certification",
        sa.Column("certification_id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("staff_ref", sa.Text, sa.ForeignKey("supporter.staff_ref"), nullable=False, index=True),
        sa.Column("course", sa.Text, sa.ForeignKey("course.code"), nullable=False),
        sa.Column("completed_on", sa.Date, nullable=False),
        sa.Column("expires_on", sa.Date),
    )
