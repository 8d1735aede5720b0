"""Directory, roster, projections of eligibility and duty, deployments, proposals.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op
from servicekit.migrations import create_plumbing_tables
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_plumbing_tables()
    op.create_table(
        "person",
        sa.Column("staff_ref", sa.Text, primary_key=True),
        sa.Column("site_id", sa.Text, nullable=False, index=True),
        sa.Column("profession", sa.Text, nullable=False),
        sa.Column("seniority", sa.SmallInteger, nullable=False),
        sa.Column("years_experience", sa.SmallInteger, nullable=False),
        sa.Column("languages", ARRAY(sa.Text), nullable=False),
        sa.Column("reports_to", sa.Text),
    )
    op.create_table(
        "evaluator",
        sa.Column("evaluator_ref", sa.Text, primary_key=True),
        sa.Column("evaluatee_ref", sa.Text, primary_key=True, index=True),
        sa.Column("kind", sa.Text, nullable=False),
    )
    op.create_table(
        "supporter",
        sa.Column("staff_ref", sa.Text, primary_key=True),
        sa.Column("paused", sa.Boolean, nullable=False),
        sa.Column("mental_health_professional", sa.Boolean, nullable=False),
        sa.Column("dual_relationships", ARRAY(sa.Text), nullable=False),
    )
    op.create_table(
        "eligibility",
        sa.Column("staff_ref", sa.Text, primary_key=True),
        sa.Column("eligible", sa.Boolean, nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "duty",
        sa.Column("site_id", sa.Text, primary_key=True),
        sa.Column("layer", sa.Text, primary_key=True),
        sa.Column("staff_ref", sa.Text),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "deployment",
        sa.Column("referral_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("staff_ref", sa.Text, primary_key=True),
        sa.Column("seq", sa.BigInteger, sa.Identity(), nullable=False),
        sa.Column("deployed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "proposal",
        sa.Column("referral_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("site_id", sa.Text, nullable=False, index=True),
        sa.Column("matched", sa.Boolean, nullable=False),
        sa.Column("candidates", JSONB, nullable=False),
        sa.Column("excluded", JSONB, nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
    )
