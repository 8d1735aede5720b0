"""Cases that ended (closed, withdrawn, an offer declined), from intake's events: an
override on one is refused. And a supporter's own pause apart from the authority's: a
roster re-import no longer un-pauses someone who stepped away themself. And whether a
proposal was decided for a worker the directory did not know.

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
    op.add_column(
        "proposal", sa.Column("worker_unchecked", sa.Boolean, nullable=False, server_default=sa.false())
    )
    op.add_column(
        "supporter", sa.Column("self_paused", sa.Boolean, nullable=False, server_default=sa.false())
    )
    # a pause that came from the supporter (an availability event was applied) was theirs
    op.execute("UPDATE supporter SET self_paused = paused, paused = false WHERE availability_version > 0")


def downgrade() -> None:
    op.execute("UPDATE supporter SET paused = paused OR self_paused")
    op.drop_column("supporter", "self_paused")
    op.drop_column("proposal", "worker_unchecked")
    op.drop_table("ended_referral")
