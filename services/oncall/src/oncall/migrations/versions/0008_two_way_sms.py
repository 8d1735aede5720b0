"""Two-way SMS: reply codes per page and phone, inbound texts by the gateway's id, and the
gateway's id and last status on each notification.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0008"
down_revision = "0007"


def upgrade() -> None:
    op.add_column("notification", sa.Column("provider_ref", sa.Text))
    op.add_column("notification", sa.Column("gateway_status", sa.Text))
    op.create_unique_constraint("notification_provider_ref_key", "notification", ["provider_ref"])
    op.create_table(
        "sms_code",
        sa.Column("phone_digest", sa.LargeBinary, primary_key=True),
        sa.Column("code", sa.Text, primary_key=True),
        sa.Column("page_id", UUID(as_uuid=True), nullable=False),
        sa.Column("recipient", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_sms_code_page_id", "sms_code", ["page_id"])
    op.create_table(
        "sms_inbound",
        sa.Column("message_ref", sa.Text, primary_key=True),
        sa.Column("reply", sa.Text, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("sms_inbound")
    op.drop_table("sms_code")
    op.drop_constraint("notification_provider_ref_key", "notification")
    op.drop_column("notification", "gateway_status")
    op.drop_column("notification", "provider_ref")
