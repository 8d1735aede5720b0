"""A site calendar's address works while its owner keeps opening that site's schedule with a
coordinator's role: the time it was last confirmed so."""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"


def upgrade() -> None:
    op.add_column("calendar_feed", sa.Column("confirmed_at", sa.DateTime(timezone=True)))
    # an address made before this rule gets the full 30 days from now: its owner had no
    # reason to open the schedule before, and learns of the rule on the schedule page
    op.execute("UPDATE calendar_feed SET confirmed_at = now()")
    op.alter_column("calendar_feed", "confirmed_at", nullable=False)


def downgrade() -> None:
    op.drop_column("calendar_feed", "confirmed_at")
