"""matching's tables: the directory, the roster and projections of other services' facts."""

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

metadata = sa.MetaData()

person = sa.Table(
    "person",
    metadata,
    sa.Column("staff_ref", sa.Text, primary_key=True),
    sa.Column("site_id", sa.Text, nullable=False, index=True),
    sa.Column("profession", sa.Text, nullable=False),
    sa.Column("seniority", sa.SmallInteger, nullable=False),
    sa.Column("years_experience", sa.SmallInteger, nullable=False),
    sa.Column("languages", ARRAY(sa.Text), nullable=False),
    sa.Column("reports_to", sa.Text),
    sa.Column("gender", sa.Text),  # only to honour a worker's preference; never a rule
)

evaluator = sa.Table(
    "evaluator",
    metadata,
    sa.Column("evaluator_ref", sa.Text, primary_key=True),
    sa.Column("evaluatee_ref", sa.Text, primary_key=True, index=True),
    sa.Column("kind", sa.Text, nullable=False),
)

supporter = sa.Table(
    "supporter",
    metadata,
    sa.Column("staff_ref", sa.Text, primary_key=True),
    sa.Column("paused", sa.Boolean, nullable=False),
    sa.Column("mental_health_professional", sa.Boolean, nullable=False),
    sa.Column("dual_relationships", ARRAY(sa.Text), nullable=False),
)

# projection of training's eligibility events: newest version wins
eligibility = sa.Table(
    "eligibility",
    metadata,
    sa.Column("staff_ref", sa.Text, primary_key=True),
    sa.Column("eligible", sa.Boolean, nullable=False),
    sa.Column("version", sa.BigInteger, nullable=False),
)

# projection of oncall's duty events
duty = sa.Table(
    "duty",
    metadata,
    sa.Column("site_id", sa.Text, primary_key=True),
    sa.Column("layer", sa.Text, primary_key=True),
    sa.Column("staff_ref", sa.Text),
    sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
)

deployment = sa.Table(
    "deployment",
    metadata,
    sa.Column("referral_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("staff_ref", sa.Text, primary_key=True),
    sa.Column("seq", sa.BigInteger, sa.Identity(), nullable=False),
    sa.Column("deployed_at", sa.DateTime(timezone=True), nullable=False),
)

proposal = sa.Table(
    "proposal",
    metadata,
    sa.Column("referral_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("site_id", sa.Text, nullable=False, index=True),
    sa.Column("matched", sa.Boolean, nullable=False),
    sa.Column("candidates", JSONB, nullable=False),
    sa.Column("excluded", JSONB, nullable=False),
    sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
)
