"""Group episodes: how many supporters a case needs.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("episode", sa.Column("team_size", sa.SmallInteger, nullable=False, server_default="1"))
