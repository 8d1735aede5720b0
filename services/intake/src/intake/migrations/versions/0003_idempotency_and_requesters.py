"""An Idempotency-Key answers only the request it was first sent with (its digest is kept),
and a replay gets the worker's private link again (sealed beside the contact, purged with
it); the requester of an offer is kept, so offers are rate limited per requester.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("referral", sa.Column("request_digest", sa.Text))
    op.add_column("contact", sa.Column("worker_token_sealed", sa.LargeBinary))
    op.create_index(
        "ix_referral_requester",
        "referral",
        ["activated_by", "submitted_at"],
        postgresql_where=sa.text("activated_by IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_referral_requester", "referral")
    op.drop_column("contact", "worker_token_sealed")
    op.drop_column("referral", "request_digest")
