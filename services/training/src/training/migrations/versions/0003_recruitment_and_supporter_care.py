"""The default catalogue, the recruitment pipeline, debriefs, continuing education and
the debrief prompt after an encounter.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import insert

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# what every authority starts from (DOMAIN.md, "Training and certification"); an
# authority changes these and adds its own with PUT /courses/{code}
DEFAULT_CATALOGUE = [
    ("basic-peer-support", "Basic peer support training (at least three days)", 730, True),
    ("crisis-management", "Crisis management", 730, True),
    ("confidentiality", "Confidentiality", 730, True),
    ("psychological-first-aid", "Psychological first aid (RAPID-PFA)", 730, False),
    ("suicide-awareness", "Suicide awareness", 730, False),
    ("family-peer-support", "Family peer support", 730, False),
]


def upgrade() -> None:
    course = sa.table(
        "course",
        sa.column("code", sa.Text),
        sa.column("title", sa.Text),
        sa.column("validity_days", sa.Integer),
        sa.column("required", sa.Boolean),
    )
    for code, title, validity, required in DEFAULT_CATALOGUE:
        op.execute(
            insert(course)
            .values(code=code, title=title, validity_days=validity, required=required)
            .on_conflict_do_nothing(index_elements=["code"])
        )
    op.create_table(
        "candidacy",
        sa.Column("candidacy_id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("staff_ref", sa.Text, sa.ForeignKey("supporter.staff_ref"), nullable=False),
        sa.Column("stage", sa.Text, nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ux_candidacy_open",
        "candidacy",
        ["staff_ref"],
        unique=True,
        postgresql_where=sa.text("stage NOT IN ('withdrawn', 'declined')"),
    )
    op.create_table(
        "candidacy_step",
        sa.Column("candidacy_id", sa.BigInteger, sa.ForeignKey("candidacy.candidacy_id"), nullable=False),
        sa.Column("stage", sa.Text, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("by_subject", sa.Text, nullable=False),
    )
    op.create_table(
        "reference",
        sa.Column("candidacy_id", sa.BigInteger, sa.ForeignKey("candidacy.candidacy_id"), primary_key=True),
        sa.Column("referee", sa.Text, primary_key=True),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "debrief",
        sa.Column("debrief_id", sa.Uuid, primary_key=True),
        sa.Column("site_id", sa.Text, nullable=False),
        sa.Column("held_on", sa.Date, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("minutes", sa.Integer, nullable=False),
        sa.Column("recorded_by", sa.Text, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_debrief_site_held", "debrief", ["site_id", "held_on"])
    op.create_table(
        "debrief_attendance",
        sa.Column("debrief_id", sa.Uuid, sa.ForeignKey("debrief.debrief_id"), primary_key=True),
        sa.Column("staff_ref", sa.Text, sa.ForeignKey("supporter.staff_ref"), primary_key=True),
    )
    op.create_table(
        "education",
        sa.Column("education_id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("staff_ref", sa.Text, sa.ForeignKey("supporter.staff_ref"), nullable=False, index=True),
        sa.Column("on", sa.Date, nullable=False),
        sa.Column("hours", sa.Numeric(5, 2), nullable=False),
        sa.Column("activity", sa.Text, nullable=False),
        sa.Column("recorded_by", sa.Text, nullable=False),
    )
    op.create_table(
        "engagement",
        sa.Column("referral_id", sa.Uuid, primary_key=True),
        sa.Column("staff_ref", sa.Text, primary_key=True),
    )
    op.create_table(
        "closure",
        sa.Column("referral_id", sa.Uuid, primary_key=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("contact_made", sa.Boolean, nullable=False),
    )
    op.create_table(
        "debrief_prompt",
        sa.Column("prompt_id", sa.Uuid, primary_key=True),
        sa.Column("staff_ref", sa.Text, sa.ForeignKey("supporter.staff_ref"), nullable=False, index=True),
        sa.Column("prompted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True)),
        sa.Column("outcome", sa.Text),
    )


def downgrade() -> None:
    for table in (
        "debrief_prompt",
        "closure",
        "engagement",
        "education",
        "debrief_attendance",
        "debrief",
        "reference",
        "candidacy_step",
        "candidacy",
    ):
        op.drop_table(table)
