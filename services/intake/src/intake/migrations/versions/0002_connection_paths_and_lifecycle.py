"""Every connection path, the case lifecycle, consent, confidentiality exceptions, messages
to workers, and the purge of identifiers.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "site", sa.Column("third_party_outreach", sa.Boolean, nullable=False, server_default=sa.true())
    )
    op.add_column("site", sa.Column("program_contact", sa.Text))
    op.add_column("site", sa.Column("crisis_resources", JSONB))
    op.add_column("site", sa.Column("hr_resources", JSONB))

    for column in (
        sa.Column("channel", sa.Text),
        sa.Column("source", sa.Text),
        sa.Column("group_size", sa.Integer),
        sa.Column("unit", sa.Text),
        sa.Column("activated_by", sa.Text),
        sa.Column("preferences", JSONB, nullable=False, server_default="{}"),
        sa.Column("supporters", ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("worker_token_digest", sa.Text, unique=True),
        sa.Column("offer_expires_at", sa.DateTime(timezone=True)),
        sa.Column("accepted_at", sa.DateTime(timezone=True)),
        sa.Column("contacted_at", sa.DateTime(timezone=True)),
        sa.Column("first_met_at", sa.DateTime(timezone=True)),
        sa.Column("encounters", sa.SmallInteger, nullable=False, server_default="0"),
        sa.Column("outcome", sa.Text),
        sa.Column("contact_made", sa.Boolean),
        sa.Column("ended_at", sa.DateTime(timezone=True)),
        sa.Column("purged_at", sa.DateTime(timezone=True)),
    ):
        op.add_column("referral", column)
    op.create_index("ix_referral_ended_at", "referral", ["ended_at"])
    # a group case has several supporters: one array replaces the single column
    op.execute(
        "UPDATE referral SET supporters = ARRAY[assigned_supporter] WHERE assigned_supporter IS NOT NULL"
    )
    op.drop_column("referral", "assigned_supporter")

    # purging a case's identifiers deletes its contact row
    op.drop_constraint("contact_referral_id_fkey", "contact", type_="foreignkey")
    op.create_foreign_key(
        "contact_referral_id_fkey",
        "contact",
        "referral",
        ["referral_id"],
        ["referral_id"],
        ondelete="CASCADE",
    )

    op.create_table(
        "consent",
        sa.Column("referral_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("method", sa.Text, nullable=False),
        sa.Column("given_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.Text, nullable=False),
    )
    op.create_table(
        "confidentiality_exception",
        sa.Column("id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("referral_id", UUID(as_uuid=True), nullable=False, index=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("recorded_by", sa.Text, nullable=False),
        sa.Column("worker_informed", sa.Boolean, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_table(
        "worker_message",
        sa.Column("message_id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("referral_id", UUID(as_uuid=True), nullable=False, index=True),
        sa.Column("to_sealed", sa.LargeBinary),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("body_sealed", sa.LargeBinary),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("attempts", sa.SmallInteger, nullable=False, server_default="0"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
    )
