"""matching's tables: the directory, the roster and projections of other services' facts."""

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

metadata = sa.MetaData()

# the authority's sites, with what matching ranks and widens by
site = sa.Table(
    "site",
    metadata,
    sa.Column("site_id", sa.Text, primary_key=True),
    sa.Column("region", sa.Text, index=True),
    sa.Column("setting", sa.Text),  # rural | urban
    sa.Column("weights", JSONB, nullable=False, server_default="{}"),  # preference -> weight
)

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
    sa.Column("unit", sa.Text),
    sa.Column("grade", sa.Text),
    sa.Column("licence_level", sa.SmallInteger, nullable=False, server_default="0"),
    # a supporter's work name, shown to their site's coordinators; never a worker's
    sa.Column("display_name", sa.Text),
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
    # two writers, two columns: the authority's roster (``paused``) and the supporter's own
    # step away (``self_paused``, from oncall's events); either one pauses them
    sa.Column("paused", sa.Boolean, nullable=False),
    sa.Column("self_paused", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("mental_health_professional", sa.Boolean, nullable=False),
    sa.Column("dual_relationships", ARRAY(sa.Text), nullable=False),
    # how far they will go: site | region | authority
    sa.Column("serves", sa.Text, nullable=False, server_default="site"),
    # copied from the directory (person, site) so a pool is found without reading it all;
    # kept current by handlers.refresh_reach after every directory change
    sa.Column("site_id", sa.Text),
    sa.Column("region", sa.Text),
    # the version of the supporter's own last pause or return (oncall's self-service)
    sa.Column("availability_version", sa.BigInteger, nullable=False, server_default="0"),
    sa.Index("ix_supporter_site_id", "site_id"),
    sa.Index("ix_supporter_serves_region", "serves", "region"),
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
    # with the sequence, so that a pool's load is read from the index alone
    sa.Index("ix_deployment_staff_ref_deployed_at", "staff_ref", "deployed_at", postgresql_include=["seq"]),
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
    sa.Column("pool", sa.Text, nullable=False, server_default="site"),
    sa.Column("eligible_by_pool", JSONB, nullable=False, server_default="{}"),
    # the referral's matching facts (ids and categories, as on Kafka), to re-check later
    sa.Column("request", JSONB, nullable=False, server_default="{}"),
    sa.Column("team_size", sa.SmallInteger, nullable=False, server_default="1"),
    # the worker was not in the directory: decided as if they were the most senior
    sa.Column("worker_unchecked", sa.Boolean, nullable=False, server_default=sa.false()),
)

# every coordinator override of a proposal: who, when, to whom, why (a reason code)
override = sa.Table(
    "override",
    metadata,
    sa.Column("override_id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
    sa.Column("referral_id", UUID(as_uuid=True), nullable=False, index=True),
    sa.Column("site_id", sa.Text, nullable=False),
    sa.Column("supporter", sa.Text, nullable=False),
    sa.Column("replaces", ARRAY(sa.Text), nullable=False),  # the proposal's candidates at the time
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("decided_by", sa.Text, nullable=False),  # the user's subject
    sa.Column("decided_by_staff_ref", sa.Text),
    sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
)

# projection of intake's endings: a case that ended takes no override
ended_referral = sa.Table(
    "ended_referral",
    metadata,
    sa.Column("referral_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("ended", sa.Text, nullable=False),  # closed | withdrawn | declined
    sa.Column("ended_at", sa.DateTime(timezone=True), nullable=False),
)
