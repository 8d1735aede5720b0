"""training's tables: the course catalogue, supporters and their certifications."""

import sqlalchemy as sa

metadata = sa.MetaData()

course = sa.Table(
    "course",
    metadata,
    sa.Column("code", sa.Text, primary_key=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("validity_days", sa.Integer),
    sa.Column("required", sa.Boolean, nullable=False),
)

supporter = sa.Table(
    "supporter",
    metadata,
    sa.Column("staff_ref", sa.Text, primary_key=True),
    sa.Column("home_site", sa.Text, nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("tier", sa.SmallInteger, nullable=False),
    sa.Column("eligible", sa.Boolean),
    sa.Column("eligibility_version", sa.BigInteger, nullable=False, server_default="0"),
)

certification = sa.Table(
    "certification",
    metadata,
    sa.Column("certification_id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
    sa.Column("staff_ref", sa.Text, sa.ForeignKey("supporter.staff_ref"), nullable=False, index=True),
    sa.Column("course", sa.Text, sa.ForeignKey("course.code"), nullable=False),
    sa.Column("completed_on", sa.Date, nullable=False),
    sa.Column("expires_on", sa.Date),
    # the moments that count: a certification lapses at expires_at, not at some nightly run
    sa.Column("completed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True)),
)

# the lapse of a certification and the reminders ahead of it; marked fired in the
# transaction that publishes, so a restart loses none and sends none twice
timer = sa.Table(
    "timer",
    metadata,
    sa.Column("timer_id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
    sa.Column(
        "certification_id", sa.BigInteger, sa.ForeignKey("certification.certification_id"), nullable=False
    ),
    sa.Column("kind", sa.Text, nullable=False),  # expiry | reminder
    sa.Column("days_before", sa.Float),
    sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("fired_at", sa.DateTime(timezone=True)),
    sa.Column("cancelled_at", sa.DateTime(timezone=True)),
    sa.Index("ix_timer_due", "due_at", postgresql_where=sa.text("fired_at IS NULL AND cancelled_at IS NULL")),
)
