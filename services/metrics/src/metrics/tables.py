"""metrics' tables: counts per site, month, measure and dimension, and distributions kept
as a count per value. Nothing in them names a case, a person or a moment."""

import sqlalchemy as sa

metadata = sa.MetaData()

aggregate = sa.Table(
    "aggregate",
    metadata,
    sa.Column("site_id", sa.Text, primary_key=True),
    sa.Column("period", sa.Text, primary_key=True),
    sa.Column("measure", sa.Text, primary_key=True),
    sa.Column("dimension", sa.Text, primary_key=True),
    sa.Column("value", sa.BigInteger, nullable=False),
)

distribution = sa.Table(
    "distribution",
    metadata,
    sa.Column("site_id", sa.Text, primary_key=True),
    sa.Column("period", sa.Text, primary_key=True),
    sa.Column("measure", sa.Text, primary_key=True),
    sa.Column("value", sa.Integer, primary_key=True),
    sa.Column("count", sa.BigInteger, nullable=False),
)
