"""metrics' one table: counts per site, month, measure and dimension."""

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
