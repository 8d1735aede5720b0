"""A supporter's work display name, for their coordinators' pages."""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    op.add_column("person", sa.Column("display_name", sa.Text))


def downgrade() -> None:
    op.drop_column("person", "display_name")
