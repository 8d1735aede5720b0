"""Indexes that find a pool from the roster without reading all of it: the site's own
supporters, the region's who serve the region, and those who serve the authority.

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_supporter_site_id", "supporter", ["site_id"])
    op.create_index("ix_supporter_serves_region", "supporter", ["serves", "region"])


def downgrade() -> None:
    op.drop_index("ix_supporter_serves_region", "supporter")
    op.drop_index("ix_supporter_site_id", "supporter")
