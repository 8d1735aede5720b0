"""oncall's tables: duty, episodes, pages, timers and the notification queue."""

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, UUID

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
timer = sa.Table(
    "timer",
    metadata,
    sa.Column("timer_id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
    sa.Column("referral_id", UUID(as_uuid=True), nullable=False, index=True),
    sa.Column("step", sa.SmallInteger, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("fired_at", sa.DateTime(timezone=True)),
    sa.Column("cancelled_at", sa.DateTime(timezone=True)),
)

notification = sa.Table(
    "notification",
    metadata,
    sa.Column("notification_id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
    sa.Column("page_id", UUID(as_uuid=True), nullable=False, index=True),
    sa.Column("recipient", sa.Text, nullable=False),
    sa.Column("channel", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),  # pending | delivered | failed | cancelled
    sa.Column("attempts", sa.SmallInteger, nullable=False, server_default="0"),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.Column("delivered_at", sa.DateTime(timezone=True)),
)
