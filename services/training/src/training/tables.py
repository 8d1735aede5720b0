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
)
