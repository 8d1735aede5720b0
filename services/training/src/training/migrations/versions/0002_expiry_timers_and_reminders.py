"""Certifications lapse at the moment they expire, and reminders go out ahead: both are
timer rows, fired once in the transaction that acts on them.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("certification", sa.Column("completed_at", sa.DateTime(timezone=True)))
    op.add_column("certification", sa.Column("expires_at", sa.DateTime(timezone=True)))
    op.execute("UPDATE certification SET completed_at = completed_on::timestamptz")
    op.execute("UPDATE certification SET expires_at = expires_on::timestamptz WHERE expires_on IS NOT NULL")
    op.alter_column("certification", "completed_at", nullable=False)
    op.create_table(
        "timer",
        sa.Column("timer_id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column(
            "certification_id", sa.BigInteger, sa.ForeignKey("certification.certification_id"), nullable=False
        ),
        sa.Column("kind", sa.Text, nullable=False),  # expiry | reminder
        sa.Column("days_before", sa.Float),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fired_at", sa.DateTime(timezone=True)),
        sa.Column("cancelled_at", sa.DateTime(timezone=True)),
    )
    op.create_index(
        "ix_timer_due",
        "timer",
        ["due_at"],
        postgresql_where=sa.text("fired_at IS NULL AND cancelled_at IS NULL"),
    )
    # certifications recorded before: their expiry becomes a timer too
    op.execute(
        "INSERT INTO timer (certification_id, kind, due_at)"
        " SELECT certification_id, 'expiry', expires_at FROM certification WHERE expires_at IS NOT NULL"
    )


def downgrade() -> None:
    op.drop_table("timer")
    op.drop_column("certification", "expires_at")
    op.drop_column("certification", "completed_at")
