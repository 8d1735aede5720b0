"""The statements on every event's path are compiled once, then taken from SQLAlchemy's cache.
Under SQLAlchemy 2.0 an INSERT … ON CONFLICT had no cache key: the inbox's claim, on every
event of every service, was compiled anew each time. And a statement built anew for every
event had its cache key derived anew from the whole statement each time: they are built once."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from contracts.events import ReferralClosed
from servicekit.database import UnitOfWorkFactory
from servicekit.inbox import claim

pytestmark = pytest.mark.integration


async def test_the_inbox_claim_and_the_outbox_write_are_compiled_once(scratch_database):
    seen: list[tuple[str, object]] = []
    executed: list[object] = []

    @sa.event.listens_for(scratch_database.engine.sync_engine, "before_execute")
    def statement(conn, clauseelement, *_args):  # type: ignore[no-untyped-def]
        executed.append(clauseelement)

    @sa.event.listens_for(scratch_database.engine.sync_engine, "after_cursor_execute")
    def record(conn, cursor, statement, params, context, executemany):  # type: ignore[no-untyped-def]
        seen.append((statement.split()[2], context.cache_hit))

    units = UnitOfWorkFactory(scratch_database, producer="test")
    for _ in range(3):
        async with units() as uow:
            assert await claim(uow.session, consumer="c", event_id=uuid.uuid4(), event_type="t")
            event = ReferralClosed(
                referral_id=uuid.uuid4(), site_id="site-a", contact_made=True, outcome="one_time_support"
            )
            await uow.emit(event)

    hits = scratch_database.engine.dialect.CACHE_HIT
    inserts = [(table, hit) for table, hit in seen if table.endswith(("inbox", "outbox"))]
    assert len(inserts) == 6, seen
    # the first of each compiled (a miss), every later one from the cache
    assert [hit == hits for _, hit in inserts[2:]] == [True] * 4, inserts
    # one statement object each, whose cache key is derived once
    assert len(executed) == 6 and len({id(s) for s in executed}) == 2, executed
