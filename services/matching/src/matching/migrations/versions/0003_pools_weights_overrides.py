"""Sites with region, setting and preference weights; wider pools; explained proposals;
audited overrides.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "site",
        sa.Column("site_id", sa.Text, primary_key=True),
        sa.Column("region", sa.Text, index=True),
        sa.Column("setting", sa.Text),
        sa.Column("weights", JSONB, nullable=False, server_default="{}"),
    )
    op.add_column("person", sa.Column("unit", sa.Text))
    op.add_column("person", sa.Column("grade", sa.Text))
    op.add_column("person", sa.Column("licence_level", sa.SmallInteger, nullable=False, server_default="0"))
    # how far a supporter serves, and where they are (copied from the directory so a pool
    # is found from the roster alone)
    op.add_column("supporter", sa.Column("serves", sa.Text, nullable=False, server_default="site"))
    op.add_column("supporter", sa.Column("site_id", sa.Text))
    op.add_column("supporter", sa.Column("region", sa.Text))
    op.execute("UPDATE supporter s SET site_id = p.site_id FROM person p WHERE p.staff_ref = s.staff_ref")
    op.add_column("proposal", sa.Column("pool", sa.Text, nullable=False, server_default="site"))
    op.add_column("proposal", sa.Column("eligible_by_pool", JSONB, nullable=False, server_default="{}"))
    op.add_column("proposal", sa.Column("request", JSONB, nullable=False, server_default="{}"))
    op.add_column("proposal", sa.Column("team_size", sa.SmallInteger, nullable=False, server_default="1"))
    # a supporter's recent load is counted per candidate at every decision
    op.create_index("ix_deployment_staff_ref_deployed_at", "deployment", ["staff_ref", "deployed_at"])
    op.create_table(
        "override",
        sa.Column("override_id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("referral_id", UUID(as_uuid=True), nullable=False, index=True),
        sa.Column("site_id", sa.Text, nullable=False),
        sa.Column("supporter", sa.Text, nullable=False),
        sa.Column("replaces", ARRAY(sa.Text), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("decided_by", sa.Text, nullable=False),
        sa.Column("decided_by_staff_ref", sa.Text),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
    )
