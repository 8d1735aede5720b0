"""A supporter's recent load read from the index alone: the deployment index carries the
sequence too, so a pool's load needs no visit to the table (bench/matching_decision.py)."""

from alembic import op

revision = "0007"
down_revision = "0006"

INDEX = "ix_deployment_staff_ref_deployed_at"


def upgrade() -> None:
    op.drop_index(INDEX, table_name="deployment")
    op.create_index(INDEX, "deployment", ["staff_ref", "deployed_at"], postgresql_include=["seq"])


def downgrade() -> None:
    op.drop_index(INDEX, table_name="deployment")
    op.create_index(INDEX, "deployment", ["staff_ref", "deployed_at"])
