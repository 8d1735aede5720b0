"""Who exists where: the declared sites, the directory's people and the supporters with
their eligibility, projected from matching's and training's events. And whether an
episode's worker was unknown to the directory (the coordinator's queue says so).

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
    op.add_column(
        "episode", sa.Column("worker_unchecked", sa.Boolean, nullable=False, server_default=sa.false())
    )
    op.create_table(
        "known_site",
        sa.Column("site_id", sa.Text, primary_key=True),
        sa.Column("declared_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "known_person",
        sa.Column("staff_ref", sa.Text, primary_key=True),
        sa.Column("site_id", sa.Text, nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_known_person_site_id", "known_person", ["site_id"])
    op.create_table(
        "known_supporter",
        sa.Column("staff_ref", sa.Text, primary_key=True),
        sa.Column("home_site", sa.Text, nullable=False),
        sa.Column("eligible", sa.Boolean, nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_known_supporter_home_site", "known_supporter", ["home_site"])
    # sites already on duty were declared before this projection existed
    op.execute(
        "INSERT INTO known_site (site_id, declared_at) "
        "SELECT site_id, now() FROM duty UNION SELECT site_id, now() FROM schedule "
        "ON CONFLICT DO NOTHING"
    )


def downgrade() -> None:
    op.drop_table("known_supporter")
    op.drop_table("known_person")
    op.drop_table("known_site")
    op.drop_column("episode", "worker_unchecked")
