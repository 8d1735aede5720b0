"""Indexes that find a pool from the roster without reading all of it: the site's own
supporters, the region's who serve the region, and those who serve the authority. And the
version of a supporter's own pause (oncall's self-service), so an older one never wins.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_supporter_site_id", "supporter", ["site_id"])
    op.create_index("ix_supporter_serves_region", "supporter", ["serves", "region"])
    op.add_column(
        "supporter", sa.Column("availability_version", sa.BigInteger, nullable=False, server_default="0")
    )


def downgrade() -> None:
    op.drop_column("supporter", "availability_version")
    op.drop_index("ix_supporter_serves_region", "supporter")
    op.drop_index("ix_supporter_site_id", "supporter")
