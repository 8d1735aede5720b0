"""A schema of its own per test, on the session's real PostgreSQL server."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from servicekit.database import Database
from servicekit.tables import PLUMBING


@pytest.fixture
async def scratch_database(infrastructure):
    """A Database on a fresh schema holding the plumbing tables (outbox, inbox)."""
    schema = f"scratch_{uuid.uuid4().hex[:8]}"
    url = infrastructure.admin_url.replace("postgresql://", "postgresql+asyncpg://")
    database = Database(url, schema=schema)
    async with database.engine.begin() as conn:
        await conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        await conn.run_sync(PLUMBING.create_all)
    yield database
    await database.dispose()
