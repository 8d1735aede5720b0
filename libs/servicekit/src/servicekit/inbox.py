"""Idempotent consumption: a consumer records each event id it processed in the same
transaction as the effect, so a redelivered event is recognised and changes nothing."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, UUID, insert
from sqlalchemy.ext.asyncio import AsyncSession

from servicekit.tables import INBOX

# the statements on every event's path are built once: SQLAlchemy finds a statement's compiled
# form by a key it derives from the whole statement, again for every statement built anew
CLAIM = (
    insert(INBOX)
    .values(
        consumer=sa.bindparam("consumer"),
        event_id=sa.bindparam("event_id"),
        event_type=sa.bindparam("event_type"),
    )
    .on_conflict_do_nothing()
    .returning(INBOX.c.event_id)
)


async def claim(session: AsyncSession, *, consumer: str, event_id: uuid.UUID, event_type: str) -> bool:
    """True the first time this consumer sees the event; False for a redelivery."""
    result = await session.execute(
        CLAIM, {"consumer": consumer, "event_id": event_id, "event_type": event_type}
    )
    return result.first() is not None


_CLAIMED = (
    sa.func.unnest(
        sa.bindparam("event_ids", type_=ARRAY(UUID(as_uuid=True))),
        sa.bindparam("event_types", type_=ARRAY(sa.Text)),
    )
    .table_valued("event_id", "event_type")
    .render_derived()
)
# one statement whatever the batch's size: the ids go as arrays, so its text (and asyncpg's
# prepared statement) is the same for 1 event or 1,000
CLAIM_ALL = (
    insert(INBOX)
    .from_select(
        ["consumer", "event_id", "event_type"],
        sa.select(sa.bindparam("consumer", type_=sa.Text), _CLAIMED.c.event_id, _CLAIMED.c.event_type),
    )
    .on_conflict_do_nothing()
    .returning(INBOX.c.event_id)
)


async def claim_all(
    session: AsyncSession, *, consumer: str, events: Sequence[tuple[uuid.UUID, str]]
) -> set[uuid.UUID]:
    """``claim`` for a batch in one round trip: the ids seen for the first time (an id twice
    in the batch is claimed once)."""
    if not events:
        return set()
    result = await session.execute(
        CLAIM_ALL,
        {
            "consumer": consumer,
            "event_ids": [event_id for event_id, _ in events],
            "event_types": [event_type for _, event_type in events],
        },
    )
    return set(result.scalars())
