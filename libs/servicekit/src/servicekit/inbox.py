"""Idempotent consumption: a consumer records each event id it processed in the same
transaction as the effect, so a redelivered event is recognised and changes nothing."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, UUID, insert

from servicekit.driver import DriverStatement
from servicekit.tables import INBOX

if TYPE_CHECKING:
    from servicekit.database import UnitOfWork

# the statements on every event's path are built once and run on the driver
# (servicekit.driver): through the session each cost about three times the CPU
CLAIM = DriverStatement(
    insert(INBOX)
    .values(
        consumer=sa.bindparam("consumer"),
        event_id=sa.bindparam("event_id"),
        event_type=sa.bindparam("event_type"),
    )
    .on_conflict_do_nothing()
    .returning(INBOX.c.event_id)
)


async def claim(uow: UnitOfWork, *, consumer: str, event_id: uuid.UUID, event_type: str) -> bool:
    """True the first time this consumer sees the event; False for a redelivery."""
    found = await CLAIM.fetch(uow, {"consumer": consumer, "event_id": event_id, "event_type": event_type})
    return bool(found)


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
CLAIM_ALL = DriverStatement(
    insert(INBOX)
    .from_select(
        ["consumer", "event_id", "event_type"],
        sa.select(sa.bindparam("consumer", type_=sa.Text), _CLAIMED.c.event_id, _CLAIMED.c.event_type),
    )
    .on_conflict_do_nothing()
    .returning(INBOX.c.event_id)
)


async def claim_all(
    uow: UnitOfWork, *, consumer: str, events: Sequence[tuple[uuid.UUID, str]]
) -> set[uuid.UUID]:
    """``claim`` for a batch in one round trip: the ids seen for the first time (an id twice
    in the batch is claimed once)."""
    if not events:
        return set()
    found = await CLAIM_ALL.fetch(
        uow,
        {
            "consumer": consumer,
            "event_ids": [event_id for event_id, _ in events],
            "event_types": [event_type for _, event_type in events],
        },
    )
    return {row[0] for row in found}
