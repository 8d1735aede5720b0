"""A pooled connection is pinged before use only after it sat idle, on a real PostgreSQL:
back-to-back transactions go straight to work, and a connection the server dropped while
it was idle is replaced before anyone uses it."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa
from servicekit import database as db


@pytest.fixture
def pings(scratch_database, monkeypatch):  # type: ignore[no-untyped-def]
    dialect = scratch_database.engine.sync_engine.dialect
    made: list[object] = []
    real = dialect.do_ping

    def counted(dbapi_connection: object) -> bool:
        made.append(dbapi_connection)
        return bool(real(dbapi_connection))

    monkeypatch.setattr(dialect, "do_ping", counted)
    return made


async def _backend(database: db.Database) -> int:
    async with database.sessions() as session:
        return int(await session.scalar(sa.select(sa.func.pg_backend_pid())))


async def test_a_connection_used_a_moment_ago_is_not_pinged(scratch_database, pings):
    first = await _backend(scratch_database)
    for _ in range(5):
        assert await _backend(scratch_database) == first  # the warm one, every time
    assert pings == []


async def test_a_connection_idle_long_enough_is_pinged_once_before_use(scratch_database, pings, monkeypatch):
    first = await _backend(scratch_database)
    monkeypatch.setattr(db, "IDLE_BEFORE_PING_SECONDS", 0.0)
    assert await _backend(scratch_database) == first
    assert len(pings) == 1


async def test_a_connection_the_server_dropped_while_idle_is_replaced_before_use(
    scratch_database, pings, monkeypatch, infrastructure
):
    dropped = await _backend(scratch_database)
    admin = db.Database(
        infrastructure.admin_url.replace("postgresql://", "postgresql+asyncpg://"), schema="public"
    )
    try:
        async with admin.sessions() as session:
            assert await session.scalar(sa.select(sa.func.pg_terminate_backend(dropped)))
    finally:
        await admin.dispose()
    monkeypatch.setattr(db, "IDLE_BEFORE_PING_SECONDS", 0.0)
    # the transaction itself never meets the dead connection
    assert await _backend(scratch_database) != dropped
    assert len(pings) >= 1


async def test_a_burst_past_the_pool_waits_for_its_connections_and_opens_no_more(infrastructure):
    """Twice the pool's size in flight, twice over: the pool opens its connections once and
    keeps them; the requests past it wait. (With overflow connections, each one past the
    pool was closed as soon as it was returned and opened anew by the next burst.)"""
    database = db.Database(
        infrastructure.admin_url.replace("postgresql://", "postgresql+asyncpg://"),
        schema="public",
        pool_size=3,
    )
    opened: list[object] = []
    sa.event.listen(database.engine.sync_engine, "connect", lambda *_: opened.append(1))

    async def busy() -> int:
        async with database.sessions() as session:
            await session.execute(sa.text("SELECT pg_sleep(0.05)"))
            return int(await session.scalar(sa.select(sa.func.pg_backend_pid())))

    try:
        backends: set[int] = set()
        for _ in range(2):
            backends |= set(await asyncio.gather(*(busy() for _ in range(6))))
    finally:
        await database.dispose()
    assert len(opened) == 3
    assert len(backends) == 3
