"""Duty, paging episodes, pages, durable timers and the notification queue.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op
from servicekit.migrations import create_plumbing_tables
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_plumbing_tables()
    op.create_table(
        "duty",
        sa.Column("site_id", sa.Text, primary_key=True),
        sa.Column("layer", sa.Text, primary_key=True),  # primary | backup | coordinator
        sa.Column("staff_ref", sa.Text),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
    )

    op.create_table(
        "episode",
        sa.Column("referral_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("site_id", sa.Text, nullable=False, index=True),
        sa.Column("chain", JSONB, nullable=False),
        sa.Column("crisis", sa.Boolean, nullable=False),
        sa.Column("step", sa.SmallInteger, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("traceparent", sa.Text),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True)),
    )

    op.create_table(
        "page",
        sa.Column("page_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("referral_id", UUID(as_uuid=True), nullable=False, index=True),
        sa.Column("step", sa.SmallInteger, nullable=False),
        sa.Column("recipient", sa.Text, nullable=False),
        sa.Column("recipient_role", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acknowledge_by", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True)),
        sa.UniqueConstraint("referral_id", "step"),
    )

    op.create_table(
        "timer",
        sa.Column("timer_id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("referral_id", UUID(as_uuid=True), nullable=False, index=True),
        sa.Column("step", sa.SmallInteger, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fired_at", sa.DateTime(timezone=True)),
        sa.Column("cancelled_at", sa.DateTime(timezone=True)),
    )

    op.create_table(
        "notification",
        sa.Column("notification_id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("page_id", UUID(as_uuid=True), nullable=False, index=True),
        sa.Column("recipient", sa.Text, nullable=False),
        sa.Column("channel", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),  # pending | delivered | failed | cancelled
        sa.Column("attempts", sa.SmallInteger, nullable=False, server_default="0"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("delivered_at", sa.DateTime(timezone=True)),
    )
    op.create_index(
        "timer_due",
        "timer",
        ["due_at"],
        postgresql_where=sa.text("fired_at IS NULL AND cancelled_at IS NULL"),
    )
