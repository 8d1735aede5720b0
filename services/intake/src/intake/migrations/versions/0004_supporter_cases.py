"""A supporter's own cases are found by the supporters array: a GIN index for ``@>``."""

from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.create_index("ix_referral_supporters", "referral", ["supporters"], postgresql_using="gin")


def downgrade() -> None:
    op.drop_index("ix_referral_supporters", table_name="referral")
