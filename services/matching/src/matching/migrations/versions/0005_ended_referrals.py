"""Cases that ended (closed, withdrawn, an offer declined), from intake's events: an
override on one is refused.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ended_referral",
        sa.Column("referral_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("ended", sa.Text, nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("ended_referral")
