"""Calendar feeds at secret, revocable addresses (RFC 5545): a digest of each token."""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    op.create_table(
        "calendar_feed",
        sa.Column("feed_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("token_digest", sa.LargeBinary, nullable=False, unique=True),
        sa.Column("owner", sa.Text, nullable=False),
        sa.Column("scope", sa.Text, nullable=False),
        sa.Column("site_id", sa.Text),
        sa.Column("staff_ref", sa.Text),
        sa.Column("language", sa.Text, nullable=False, server_default="en"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
    )
    # at most one live address per owner and kind: a second request replaces the first
    op.create_index(
        "calendar_feed_live",
        "calendar_feed",
        ["owner", "scope", sa.text("coalesce(site_id, '')")],
        unique=True,
        postgresql_where=sa.text("revoked_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_table("calendar_feed")
