"""metrics' tables: counts per site, month, measure and dimension, and distributions kept
as a count per value. Nothing in them names a case, a person or a moment."""

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

metadata = sa.MetaData()


def _counts(name: str) -> sa.Table:
    return sa.Table(
        name,
        metadata,
        sa.Column("site_id", sa.Text, primary_key=True),
        sa.Column("period", sa.Text, primary_key=True),
        sa.Column("measure", sa.Text, primary_key=True),
        sa.Column("dimension", sa.Text, primary_key=True),
        sa.Column("value", sa.BigInteger, nullable=False),
    )


def _distribution(name: str) -> sa.Table:
    return sa.Table(
        name,
        metadata,
        sa.Column("site_id", sa.Text, primary_key=True),
        sa.Column("period", sa.Text, primary_key=True),
        sa.Column("measure", sa.Text, primary_key=True),
        sa.Column("value", sa.Integer, primary_key=True),
        sa.Column("count", sa.BigInteger, nullable=False),
    )


aggregate = _counts("aggregate")  # live, as events are consumed
distribution = _distribution("distribution")

# a rebuild from the Kafka history lands here, to be compared with the live tables
aggregate_rebuilt = _counts("aggregate_rebuilt")
distribution_rebuilt = _distribution("distribution_rebuilt")

# a month's counts as they were when it closed: its quarter is computed from these, so a
# late event can never make the quarter disagree with the published months
closed_count = _counts("closed_count")

# what was published, frozen: scope is a site or the authority; a withheld cell keeps its
# value here (the quarter's sums need it) and is never shown
published_cell = sa.Table(
    "published_cell",
    metadata,
    sa.Column("scope", sa.Text, primary_key=True),
    sa.Column("period", sa.Text, primary_key=True),
    sa.Column("measure", sa.Text, primary_key=True),
    sa.Column("dimension", sa.Text, primary_key=True),
    sa.Column("value", sa.BigInteger, nullable=False),
    sa.Column("withheld", sa.Boolean, nullable=False),
)

published_month = sa.Table(
    "published_month",
    metadata,
    sa.Column("month", sa.Text, primary_key=True),
    sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
)

# the authority's directory of its sites: which region each is in and how many staff it
# has (for reach). Sites, not people: nothing here is personal
site = sa.Table(
    "site",
    metadata,
    sa.Column("site_id", sa.Text, primary_key=True),
    sa.Column("region", sa.Text, nullable=True),
    sa.Column("staff_count", sa.Integer, nullable=True),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

# the directory as it stood when a quarter's first month was published: every month of
# the quarter is grouped by it, so a site moved mid-quarter cannot make months and quarter
# disagree (and be differenced). {site_id: {"region": ..., "staff_count": ...}}
quarter_directory = sa.Table(
    "quarter_directory",
    metadata,
    sa.Column("quarter", sa.Text, primary_key=True),
    sa.Column("sites", JSONB, nullable=False),
)

# what the corrections of each month have counted so far: a month's late events are those
# beyond its closed counts and these
corrected_count = _counts("corrected_count")

# each correction: late events of a published month, published as a table of their own
published_correction = sa.Table(
    "published_correction",
    metadata,
    sa.Column("period", sa.Text, primary_key=True),  # 2026-08-correction-1
    sa.Column("month", sa.Text, nullable=False, index=True),
    sa.Column("number", sa.Integer, nullable=False),
    sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
)
