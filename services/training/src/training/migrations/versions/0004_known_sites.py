"""The sites matching's directory declared, projected from its events.

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
    op.create_table(
        "known_site",
        sa.Column("site_id", sa.Text, primary_key=True),
        sa.Column("declared_at", sa.DateTime(timezone=True), nullable=False),
    )
    # sites already holding supporters were declared before this projection existed
    op.execute(
        "INSERT INTO known_site (site_id, declared_at) SELECT DISTINCT home_site, now() FROM supporter"
    )


def downgrade() -> None:
    op.drop_table("known_site")
