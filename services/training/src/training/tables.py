"""training's tables: the course catalogue, supporters and their certifications."""

import sqlalchemy as sa
from servicekit.sites import known_site_table
from servicekit.timers import timer_table

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
timer = timer_table(
    "timer",
    metadata,
    sa.Column(
        "certification_id", sa.BigInteger, sa.ForeignKey("certification.certification_id"), nullable=False
    ),
    sa.Column("kind", sa.Text, nullable=False),  # common.TimerKind
    sa.Column("days_before", sa.Float),
)

# --- recruitment: expression of interest to active (training.recruitment) -------------

candidacy = sa.Table(
    "candidacy",
    metadata,
    sa.Column("candidacy_id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
    sa.Column("staff_ref", sa.Text, sa.ForeignKey("supporter.staff_ref"), nullable=False),
    sa.Column("stage", sa.Text, nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    # one open candidacy per person; a withdrawn or declined one may be followed by another
    sa.Index(
        "ux_candidacy_open",
        "staff_ref",
        unique=True,
        postgresql_where=sa.text("stage NOT IN ('withdrawn', 'declined')"),
    ),
)

# every step, who took it and when: the program's record of its own decisions
candidacy_step = sa.Table(
    "candidacy_step",
    metadata,
    sa.Column("candidacy_id", sa.BigInteger, sa.ForeignKey("candidacy.candidacy_id"), nullable=False),
    sa.Column("stage", sa.Text, nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("by_subject", sa.Text, nullable=False),
)

# that a reference was received, from whom; what it says stays on paper with the program
reference = sa.Table(
    "reference",
    metadata,
    sa.Column("candidacy_id", sa.BigInteger, sa.ForeignKey("candidacy.candidacy_id"), primary_key=True),
    sa.Column("referee", sa.Text, primary_key=True),
    sa.Column("kind", sa.Text, nullable=False),  # peer | manager
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
)

# --- supporting the supporters ---------------------------------------------------------

debrief = sa.Table(
    "debrief",
    metadata,
    sa.Column("debrief_id", sa.Uuid, primary_key=True),
    sa.Column("site_id", sa.Text, nullable=False),
    sa.Column("held_on", sa.Date, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),  # monthly | encounter
    sa.Column("minutes", sa.Integer, nullable=False),
    sa.Column("recorded_by", sa.Text, nullable=False),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_debrief_site_held", "site_id", "held_on"),
)

debrief_attendance = sa.Table(
    "debrief_attendance",
    metadata,
    sa.Column("debrief_id", sa.Uuid, sa.ForeignKey("debrief.debrief_id"), primary_key=True),
    sa.Column("staff_ref", sa.Text, sa.ForeignKey("supporter.staff_ref"), primary_key=True),
)

education = sa.Table(
    "education",
    metadata,
    sa.Column("education_id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
    sa.Column("staff_ref", sa.Text, sa.ForeignKey("supporter.staff_ref"), nullable=False, index=True),
    sa.Column("on", sa.Date, nullable=False),
    sa.Column("hours", sa.Numeric(5, 2), nullable=False),
    sa.Column("activity", sa.Text, nullable=False),
    sa.Column("recorded_by", sa.Text, nullable=False),
)

# who took which referral, only until it closes: then the debrief prompt is made and the
# link to the case is dropped
engagement = sa.Table(
    "engagement",
    metadata,
    sa.Column("referral_id", sa.Uuid, primary_key=True),
    sa.Column("staff_ref", sa.Text, primary_key=True),
)

# referrals closed, and whether anyone was reached; kept so an acknowledgement read after
# the close (the two come on different topics) still prompts a debrief
closure = sa.Table(
    "closure",
    metadata,
    sa.Column("referral_id", sa.Uuid, primary_key=True),
    sa.Column("closed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("contact_made", sa.Boolean, nullable=False),
)

debrief_prompt = sa.Table(
    "debrief_prompt",
    metadata,
    sa.Column("prompt_id", sa.Uuid, primary_key=True),
    sa.Column("staff_ref", sa.Text, sa.ForeignKey("supporter.staff_ref"), nullable=False, index=True),
    sa.Column("prompted_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("answered_at", sa.DateTime(timezone=True)),
    sa.Column("outcome", sa.Text),  # debriefed | not_needed
)

# the sites matching's directory declared (from its SiteDeclared events): a supporter or a
# candidate at a site nobody declared is refused, so a typo makes no phantom site
known_site = known_site_table(metadata)
