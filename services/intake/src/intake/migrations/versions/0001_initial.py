"""Sites, referrals, encrypted contacts, the personal-data audit log, outbox and inbox.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op
from servicekit.migrations import create_plumbing_tables
from sqlalchemy.dialects.postgresql import ARRAY, UUID

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_plumbing_tables()
    op.create_table(
        "site",
        sa.Column("site_id", sa.Text, primary_key=True),
        sa.Column("display_name", sa.Text, nullable=False),
    )
    op.create_table(
        "referral",
        sa.Column("referral_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("site_id", sa.Text, sa.ForeignKey("site.site_id"), nullable=False, index=True),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("reason_category", sa.Text, nullable=False),
        sa.Column("reason_kind", sa.Text, nullable=False),
        sa.Column("urgency", sa.Text, nullable=False),
        sa.Column("modality", sa.Text, nullable=False),
        sa.Column("tier", sa.SmallInteger, nullable=False),
        sa.Column("crisis", sa.Boolean, nullable=False),
        sa.Column("worker_ref", sa.Text),
        sa.Column("excluded_supporters", ARRAY(sa.Text), nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("assigned_supporter", sa.Text),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("idempotency_key", sa.Text, unique=True),
    )
    op.create_table(
        "contact",
        sa.Column("referral_id", UUID(as_uuid=True), sa.ForeignKey("referral.referral_id"), primary_key=True),
        sa.Column("name_sealed", sa.LargeBinary, nullable=False),
        sa.Column("phone_sealed", sa.LargeBinary),
        sa.Column("email_sealed", sa.LargeBinary),
    )
    op.create_table(
        "personal_data_audit",
        sa.Column("id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("actor_role", sa.Text, nullable=False),
        sa.Column("referral_id", UUID(as_uuid=True), nullable=False, index=True),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("purpose", sa.Text, nullable=False),
    )
