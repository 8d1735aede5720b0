"""Schedules (rotations, overrides, swaps) in the site's time zone, forecast coverage gaps,
service-level clocks, supporters' contact routes (sealed), and notifications that retry,
fall through to the next route and carry single-use links.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "schedule",
        sa.Column("site_id", sa.Text, primary_key=True),
        sa.Column("time_zone", sa.Text, nullable=False),
    )
    op.create_table(
        "rotation",
        sa.Column("site_id", sa.Text, primary_key=True),
        sa.Column("layer", sa.Text, primary_key=True),
        sa.Column("position", sa.SmallInteger, primary_key=True),
        sa.Column("members", ARRAY(sa.Text), nullable=False),
        sa.Column("starts_local", sa.DateTime(timezone=False), nullable=False),
        sa.Column("shift_hours", sa.Integer, nullable=False),
        sa.Column("restrict_from", sa.Time),
        sa.Column("restrict_to", sa.Time),
    )
    op.create_table(
        "duty_override",
        sa.Column("override_id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("site_id", sa.Text, nullable=False, index=True),
        sa.Column("layer", sa.Text, nullable=False),
        sa.Column("staff_ref", sa.Text, nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("swap_id", UUID(as_uuid=True)),
        sa.Column("created_by", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True)),
    )
    op.create_table(
        "coverage_gap",
        sa.Column("site_id", sa.Text, primary_key=True),
        sa.Column("layer", sa.Text, primary_key=True),
        sa.Column("starts_at", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("warned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("filled_at", sa.DateTime(timezone=True)),
    )
    op.create_table(
        "contact_route",
        sa.Column("staff_ref", sa.Text, primary_key=True),
        sa.Column("position", sa.SmallInteger, primary_key=True),
        sa.Column("channel", sa.Text, nullable=False),  # email | webhook | recording
        sa.Column("address", sa.LargeBinary, nullable=False),  # sealed: a person's contact
    )
    op.create_table(
        "used_link",
        sa.Column("nonce", sa.Text, primary_key=True),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "site_service_levels",
        sa.Column("site_id", sa.Text, primary_key=True),
        sa.Column("callback_within_seconds", sa.Float, nullable=False),
        sa.Column("meet_within_seconds", sa.Float, nullable=False),
    )
    op.create_table(
        "availability",
        sa.Column("staff_ref", sa.Text, primary_key=True),
        sa.Column("available", sa.Boolean, nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.add_column("episode", sa.Column("urgency", sa.Text))
    op.add_column("episode", sa.Column("acknowledged_at", sa.DateTime(timezone=True)))
    op.add_column("episode", sa.Column("contacted_at", sa.DateTime(timezone=True)))
    op.add_column("episode", sa.Column("met_at", sa.DateTime(timezone=True)))
    op.add_column("episode", sa.Column("reopened", sa.SmallInteger, nullable=False, server_default="0"))
    op.alter_column("notification", "page_id", nullable=True)
    op.add_column("notification", sa.Column("kind", sa.Text, nullable=False, server_default="page"))
    op.add_column("notification", sa.Column("referral_id", UUID(as_uuid=True)))
    op.add_column("notification", sa.Column("site_id", sa.Text))
    op.add_column("notification", sa.Column("route", sa.SmallInteger, nullable=False, server_default="0"))
    op.add_column(
        "notification",
        sa.Column(
            "next_attempt_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )
    op.add_column("notification", sa.Column("last_error", sa.Text))
    op.add_column("notification", sa.Column("detail", JSONB, nullable=False, server_default="{}"))
    # notifications queued before this revision belong to a page: give them its referral and
    # site, so an acknowledgement finds and cancels them like any other
    op.execute(
        "UPDATE notification n SET referral_id = p.referral_id, site_id = e.site_id"
        " FROM page p JOIN episode e ON e.referral_id = p.referral_id WHERE p.page_id = n.page_id"
    )
    op.create_index(
        "ix_notification_due",
        "notification",
        ["next_attempt_at"],
        postgresql_where=sa.text("status IN ('pending', 'sending')"),
    )
    op.create_index(
        "ix_timer_due",
        "timer",
        ["due_at"],
        postgresql_where=sa.text("fired_at IS NULL AND cancelled_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_timer_due", "timer")
    op.drop_index("ix_notification_due", "notification")
    for column in ("detail", "last_error", "next_attempt_at", "route", "site_id", "referral_id", "kind"):
        op.drop_column("notification", column)
    for column in ("reopened", "met_at", "contacted_at", "acknowledged_at", "urgency"):
        op.drop_column("episode", column)
    for table in (
        "availability",
        "used_link",
        "contact_route",
        "coverage_gap",
        "duty_override",
        "rotation",
        "schedule",
    ):
        op.drop_table(table)
