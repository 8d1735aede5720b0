"""oncall's tables: duty, episodes, pages, timers and the notification queue."""

import sqlalchemy as sa
from servicekit.sites import known_site_table
from servicekit.timers import timer_table
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

metadata = sa.MetaData()

duty = sa.Table(
    "duty",
    metadata,
    sa.Column("site_id", sa.Text, primary_key=True),
    sa.Column("layer", sa.Text, primary_key=True),  # primary | backup | coordinator
    sa.Column("staff_ref", sa.Text),
    sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
)

episode = sa.Table(
    "episode",
    metadata,
    sa.Column("referral_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("site_id", sa.Text, nullable=False, index=True),
    sa.Column("chain", JSONB, nullable=False),
    sa.Column("crisis", sa.Boolean, nullable=False),
    sa.Column("step", sa.SmallInteger, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("team_size", sa.SmallInteger, nullable=False, server_default="1"),
    sa.Column("traceparent", sa.Text),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("closed_at", sa.DateTime(timezone=True)),
    sa.Column("urgency", sa.Text),
    # the service-level clocks: when someone took the case, called back, met
    sa.Column("acknowledged_at", sa.DateTime(timezone=True)),
    sa.Column("contacted_at", sa.DateTime(timezone=True)),
    sa.Column("met_at", sa.DateTime(timezone=True)),
    sa.Column("reopened", sa.SmallInteger, nullable=False, server_default="0"),
    sa.Column("worker_unchecked", sa.Boolean, nullable=False, server_default=sa.false()),
)

page = sa.Table(
    "page",
    metadata,
    sa.Column("page_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("referral_id", UUID(as_uuid=True), nullable=False, index=True),
    sa.Column("step", sa.SmallInteger, nullable=False),
    sa.Column("recipient", sa.Text, nullable=False),
    sa.Column("recipient_role", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("acknowledge_by", sa.DateTime(timezone=True), nullable=False),
    sa.Column("answered_at", sa.DateTime(timezone=True)),
    sa.UniqueConstraint("referral_id", "step"),
)

# durable timers: a restart loses none; the row is marked fired in the transaction that acts
timer = timer_table(
    "timer",
    metadata,
    sa.Column("referral_id", UUID(as_uuid=True), nullable=False, index=True),
    sa.Column("step", sa.SmallInteger, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
)

# one message to one person: a page, a "the team is filled", a service-level breach or a
# coverage gap. Delivery goes through the person's contact routes in order: each route is
# retried with backoff, then the next route is tried; the status is kept.
# a notification still to send: the due index holds these, and a claim that says it in the
# same words is one the planner can answer from that index (whatever plan it keeps)
STILL_TO_SEND = "status IN ('pending', 'sending')"

notification = sa.Table(
    "notification",
    metadata,
    sa.Column("notification_id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
    sa.Column("kind", sa.Text, nullable=False, server_default="page"),
    sa.Column("page_id", UUID(as_uuid=True), index=True),
    sa.Column("referral_id", UUID(as_uuid=True)),
    sa.Column("site_id", sa.Text),
    sa.Column("recipient", sa.Text, nullable=False),
    sa.Column("channel", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),  # pending | sending | delivered | failed | cancelled
    sa.Column("route", sa.SmallInteger, nullable=False, server_default="0"),
    sa.Column("attempts", sa.SmallInteger, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.Column("last_error", sa.Text),  # the kind of failure, never the message's content
    sa.Column("detail", JSONB, nullable=False, server_default="{}"),  # ids, categories, times
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.Column("delivered_at", sa.DateTime(timezone=True)),
    # an SMS gateway's id of the message, and the last status it reported (sent, delivered,
    # undelivered, failed) through its callback
    sa.Column("provider_ref", sa.Text, unique=True),
    sa.Column("gateway_status", sa.Text),
    # pending, or claimed for sending (a lease: it comes due again if the sender died)
    sa.Index("ix_notification_due", "next_attempt_at", postgresql_where=sa.text(STILL_TO_SEND)),
)

# a site's schedule: rotations per layer, tried in position order, in the site's zone
schedule = sa.Table(
    "schedule",
    metadata,
    sa.Column("site_id", sa.Text, primary_key=True),
    sa.Column("time_zone", sa.Text, nullable=False),
)

rotation = sa.Table(
    "rotation",
    metadata,
    sa.Column("site_id", sa.Text, primary_key=True),
    sa.Column("layer", sa.Text, primary_key=True),
    sa.Column("position", sa.SmallInteger, primary_key=True),
    sa.Column("members", ARRAY(sa.Text), nullable=False),
    sa.Column("starts_local", sa.DateTime(timezone=False), nullable=False),
    sa.Column("shift_hours", sa.Integer, nullable=False),
    sa.Column("restrict_from", sa.Time),
    sa.Column("restrict_to", sa.Time),
)

# overrides win over rotations; a later one (higher id) wins over an earlier one
duty_override = sa.Table(
    "duty_override",
    metadata,
    sa.Column("override_id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
    sa.Column("site_id", sa.Text, nullable=False, index=True),
    sa.Column("layer", sa.Text, nullable=False),
    sa.Column("staff_ref", sa.Text, nullable=False),
    sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("swap_id", UUID(as_uuid=True)),  # the two halves of a swap share it
    sa.Column("created_by", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("removed_at", sa.DateTime(timezone=True)),
)

# gaps the coordinator was warned about, so each is warned once
coverage_gap = sa.Table(
    "coverage_gap",
    metadata,
    sa.Column("site_id", sa.Text, primary_key=True),
    sa.Column("layer", sa.Text, primary_key=True),
    sa.Column("starts_at", sa.DateTime(timezone=True), primary_key=True),
    sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("warned_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("filled_at", sa.DateTime(timezone=True)),
)

# how to reach a supporter or coordinator, in order; the address is sealed at rest
contact_route = sa.Table(
    "contact_route",
    metadata,
    sa.Column("staff_ref", sa.Text, primary_key=True),
    sa.Column("position", sa.SmallInteger, primary_key=True),
    sa.Column("channel", sa.Text, nullable=False),
    sa.Column("address", sa.LargeBinary, nullable=False),
)

# answer links are single-use: a used link's nonce is kept
used_link = sa.Table(
    "used_link",
    metadata,
    sa.Column("nonce", sa.Text, primary_key=True),
    sa.Column("used_at", sa.DateTime(timezone=True), nullable=False),
)

# a supporter's own pause: stepped away or back, with a version matching orders by
availability = sa.Table(
    "availability",
    metadata,
    sa.Column("staff_ref", sa.Text, primary_key=True),
    sa.Column("available", sa.Boolean, nullable=False),
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
)

# a site's own service levels, where the authority set them; else the service's defaults
site_service_levels = sa.Table(
    "site_service_levels",
    metadata,
    sa.Column("site_id", sa.Text, primary_key=True),
    sa.Column("callback_within_seconds", sa.Float, nullable=False),
    sa.Column("meet_within_seconds", sa.Float, nullable=False),
)

# how long a page of the site waits for an answer, where the authority set it (else the
# deployment's ACK_TIMEOUT_* settings)
site_ack_timeouts = sa.Table(
    "site_ack_timeouts",
    metadata,
    sa.Column("site_id", sa.Text, primary_key=True),
    sa.Column("default_seconds", sa.Float),
    sa.Column("crisis_seconds", sa.Float),
    sa.Column("by_urgency", JSONB, nullable=False, server_default="{}"),  # urgency -> seconds
)

# who exists where, projected from matching's directory and training's eligibility events
# (never read from their tables): a duty row, a rotation member or an override must name
# someone of the site, and a member who cannot serve shows as a gap
known_site = known_site_table(metadata)

known_person = sa.Table(
    "known_person",
    metadata,
    sa.Column("staff_ref", sa.Text, primary_key=True),
    sa.Column("site_id", sa.Text, nullable=False, index=True),
    sa.Column("version", sa.BigInteger, nullable=False),
)

known_supporter = sa.Table(
    "known_supporter",
    metadata,
    sa.Column("staff_ref", sa.Text, primary_key=True),
    sa.Column("home_site", sa.Text, nullable=False, index=True),
    sa.Column("eligible", sa.Boolean, nullable=False),
    sa.Column("version", sa.BigInteger, nullable=False),
)

# a calendar feed's secret address: only a digest of its token is kept, so a leaked table
# opens no calendar; creating a new address of the same kind revokes the owner's last one
calendar_feed = sa.Table(
    "calendar_feed",
    metadata,
    sa.Column("feed_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("token_digest", sa.LargeBinary, nullable=False, unique=True),
    sa.Column("owner", sa.Text, nullable=False),  # the signed-in subject who asked for it
    sa.Column("scope", sa.Text, nullable=False),  # site | mine
    sa.Column("site_id", sa.Text),  # scope site
    sa.Column("staff_ref", sa.Text),  # scope mine
    sa.Column("language", sa.Text, nullable=False, server_default="en"),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    # a site's address: when its owner last opened the site's schedule as its coordinator
    sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revoked_at", sa.DateTime(timezone=True)),
    # at most one live address per owner and kind
    sa.Index(
        "calendar_feed_live",
        "owner",
        "scope",
        sa.text("coalesce(site_id, '')"),
        unique=True,
        postgresql_where=sa.text("revoked_at IS NULL"),
    ),
)

# the short code a page's text message carries ("reply T 4821 to take it"): a reply from the
# same phone with the code answers that page as the person it was sent to, once. The phone
# is kept only as a keyed digest, as contact routes are sealed.
sms_code = sa.Table(
    "sms_code",
    metadata,
    sa.Column("phone_digest", sa.LargeBinary, primary_key=True),
    sa.Column("code", sa.Text, primary_key=True),
    sa.Column("page_id", UUID(as_uuid=True), nullable=False, index=True),
    sa.Column("recipient", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("used_at", sa.DateTime(timezone=True)),
)

# every inbound text by the gateway's message id, with the reply it got: a gateway's retry
# gets the same reply and changes nothing
sms_inbound = sa.Table(
    "sms_inbound",
    metadata,
    sa.Column("message_ref", sa.Text, primary_key=True),
    sa.Column("reply", sa.Text, nullable=False),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
)
