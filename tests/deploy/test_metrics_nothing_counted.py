"""A closed period in which nothing was counted answers with what is known (nothing
happened), rather than "being published, try again" forever: on a fresh installation, or
before the first event, a coordinator opening last month's figures sees that it is empty."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from pathlib import Path

import metrics
import sqlalchemy as sa
from metrics import handlers
from metrics import tables as t
from servicekit.migrations import upgrade
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine


@dataclass
class _Unit:
    session: AsyncSession


async def test_a_period_with_no_event_counted_is_known_to_be_empty(infrastructure):
    schema = f"metrics_{uuid.uuid4().hex[:8]}"
    url = infrastructure.admin_url.replace("postgresql://", "postgresql+asyncpg://")
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        await asyncio.to_thread(upgrade, Path(metrics.__file__).parent / "migrations", url, schema)
        async with engine.connect() as conn:
            await conn.execute(sa.text(f'SET search_path TO "{schema}"'))
            session = AsyncSession(bind=conn)
            assert await handlers.nothing_counted(_Unit(session), "2026-10")
            assert await handlers.nothing_counted(_Unit(session), "2026-Q4")
            await session.execute(
                sa.insert(t.aggregate).values(
                    site_id="s1", period="2026-11", measure="referrals", dimension="total", value=1
                )
            )
            assert await handlers.nothing_counted(_Unit(session), "2026-10")
            # one event in the quarter: it is being published, not empty
            assert not await handlers.nothing_counted(_Unit(session), "2026-Q4")
            assert not await handlers.nothing_counted(_Unit(session), "2026-11")
            await session.close()
    finally:
        async with engine.begin() as conn:
            await conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        await engine.dispose()
