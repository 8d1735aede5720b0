"""How long a page of each site waits for an answer, where the authority set it."""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    op.create_table(
        "site_ack_timeouts",
        sa.Column("site_id", sa.Text, primary_key=True),
        sa.Column("default_seconds", sa.Float),
        sa.Column("crisis_seconds", sa.Float),
        sa.Column("by_urgency", JSONB, nullable=False, server_default="{}"),
    )


def downgrade() -> None:
    op.drop_table("site_ack_timeouts")
