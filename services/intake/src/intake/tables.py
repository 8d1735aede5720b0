"""intake's tables. Declared without a schema: the engine maps them into ``intake``."""

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

metadata = sa.MetaData()

site = sa.Table(
    "site",
    metadata,
    sa.Column("site_id", sa.Text, primary_key=True),
    sa.Column("display_name", sa.Text, nullable=False),
    # per-site policy: do supporters reach out on referrals made by someone else?
    sa.Column("third_party_outreach", sa.Boolean, nullable=False, server_default=sa.true()),
    # how a worker reaches the program, shown to a manager when there is no outreach
    sa.Column("program_contact", sa.Text),
    sa.Column("crisis_resources", JSONB),  # [{label, phone?, url?}]; None: authority defaults
    sa.Column("hr_resources", JSONB),
)

referral = sa.Table(
    "referral",
    metadata,
    sa.Column("referral_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("site_id", sa.Text, sa.ForeignKey("site.site_id"), nullable=False, index=True),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("reason_category", sa.Text, nullable=False),
    sa.Column("reason_kind", sa.Text, nullable=False),
    sa.Column("urgency", sa.Text, nullable=False),
    sa.Column("modality", sa.Text, nullable=False),
    sa.Column("tier", sa.SmallInteger, nullable=False),
    sa.Column("crisis", sa.Boolean, nullable=False),
    sa.Column("worker_ref", sa.Text),
    sa.Column("excluded_supporters", ARRAY(sa.Text), nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("idempotency_key", sa.Text, unique=True),
    # --- added in 0002
    sa.Column("channel", sa.Text),  # web_form | phone_line | pager | email | integration
    sa.Column("source", sa.Text),  # offers: manager | occurrence_report | safety_huddle
    sa.Column("group_size", sa.Integer),
    sa.Column("unit", sa.Text),  # group activation: the team or unit touched
    sa.Column("activated_by", sa.Text),  # group activation: staff ref of the manager or chief
    sa.Column("preferences", JSONB, nullable=False, server_default="{}"),
    sa.Column("supporters", ARRAY(sa.Text), nullable=False, server_default="{}"),
    sa.Column("worker_token_digest", sa.Text, unique=True),
    sa.Column("offer_expires_at", sa.DateTime(timezone=True)),
    sa.Column("accepted_at", sa.DateTime(timezone=True)),  # when the case started for the worker
    sa.Column("contacted_at", sa.DateTime(timezone=True)),
    sa.Column("first_met_at", sa.DateTime(timezone=True)),
    sa.Column("encounters", sa.SmallInteger, nullable=False, server_default="0"),
    sa.Column("outcome", sa.Text),
    sa.Column("contact_made", sa.Boolean),
    sa.Column("ended_at", sa.DateTime(timezone=True), index=True),
    sa.Column("purged_at", sa.DateTime(timezone=True)),
    # --- added in 0003: the request an Idempotency-Key was first sent with (a digest)
    sa.Column("request_digest", sa.Text),
    # a supporter's own cases (GET /me/cases)
    sa.Index("ix_referral_supporters", "supporters", postgresql_using="gin"),
    sa.Index(
        "ix_referral_requester",
        "activated_by",
        "submitted_at",
        postgresql_where=sa.text("activated_by IS NOT NULL"),
    ),
)

# personal data, encrypted; one row per referral, purged after the retention period
contact = sa.Table(
    "contact",
    metadata,
    sa.Column(
        "referral_id",
        UUID(as_uuid=True),
        sa.ForeignKey("referral.referral_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("name_sealed", sa.LargeBinary, nullable=False),
    sa.Column("phone_sealed", sa.LargeBinary),
    sa.Column("email_sealed", sa.LargeBinary),
    # the worker's private link, so a replayed request (same key, same body) gets it again
    sa.Column("worker_token_sealed", sa.LargeBinary),
)

# every read of personal data: who, when, which case, why
audit = sa.Table(
    "personal_data_audit",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("actor_role", sa.Text, nullable=False),
    sa.Column("referral_id", UUID(as_uuid=True), nullable=False, index=True),
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("purpose", sa.Text, nullable=False),
)

# EAP / occupational health referrals: the worker's recorded consent (no content, just the fact)
consent = sa.Table(
    "consent",
    metadata,
    sa.Column("referral_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("method", sa.Text, nullable=False),  # verbal | written | electronic
    sa.Column("given_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("recorded_by", sa.Text, nullable=False),  # the caller's subject
)

# every deliberate use of an exception to confidentiality (002), with its reason
confidentiality_exception = sa.Table(
    "confidentiality_exception",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
    sa.Column("referral_id", UUID(as_uuid=True), nullable=False, index=True),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("recorded_by", sa.Text, nullable=False),  # "worker" when they reported it themself
    sa.Column("worker_informed", sa.Boolean, nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
)

# messages to workers (offers of support); address and body sealed, erased once sent
worker_message = sa.Table(
    "worker_message",
    metadata,
    sa.Column("message_id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
    sa.Column("referral_id", UUID(as_uuid=True), nullable=False, index=True),
    sa.Column("to_sealed", sa.LargeBinary),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("body_sealed", sa.LargeBinary),
    sa.Column("status", sa.Text, nullable=False),  # pending | sent | cancelled
    sa.Column("attempts", sa.SmallInteger, nullable=False, server_default="0"),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.Column("sent_at", sa.DateTime(timezone=True)),
)
