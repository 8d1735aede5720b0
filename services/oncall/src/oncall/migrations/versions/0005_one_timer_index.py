"""Drop ``timer_due``: the same partial index as ``ix_timer_due``, kept twice by 0001 and 0003."""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("timer_due", table_name="timer")


def downgrade() -> None:
    op.execute("CREATE INDEX timer_due ON timer (due_at) WHERE fired_at IS NULL AND cancelled_at IS NULL")
