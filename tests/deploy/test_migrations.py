"""Each service's migrations build exactly the schema its code declares.

The baselines are SQL that pg_dump wrote; ``tables.py`` is what the handlers query. Alembic's
own comparison of the two (columns, types, nullability, indexes, keys) must find nothing, so
neither can drift from the other unseen.
"""

from __future__ import annotations

import asyncio
import importlib
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from servicekit.migrations import upgrade
from servicekit.tables import plumbing_tables
from sqlalchemy.ext.asyncio import create_async_engine

SERVICES = ["intake", "matching", "oncall", "training", "metrics"]
# rows a fresh schema starts with
STARTING_ROWS = {"training": ("SELECT count(*) FROM course WHERE required", 3)}


@pytest.mark.parametrize("service", SERVICES)
async def test_migrations_build_the_schema_tables_py_declares(service, infrastructure, tmp_path):
    package = importlib.import_module(service)
    declared = importlib.import_module(f"{service}.tables").metadata
    # the plumbing a service has without declaring it
    expected = sa.MetaData()
    for table in declared.tables.values():
        table.to_metadata(expected)
    if "outbox" not in expected.tables:
        plumbing_tables(expected)

    schema = f"{service}_{uuid.uuid4().hex[:8]}"
    url = infrastructure.admin_url.replace("postgresql://", "postgresql+asyncpg://")
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        # alembic runs its own event loop: a worker thread's
        await asyncio.to_thread(upgrade, Path(package.__file__).parent / "migrations", url, schema)

        def differences(sync_conn: sa.Connection) -> list:
            sync_conn.execute(sa.text(f'SET search_path TO "{schema}"'))
            context = MigrationContext.configure(sync_conn, opts={"compare_type": True})
            found = [d for d in compare_metadata(context, expected) if not _alembic_own(d)]
            if service in STARTING_ROWS:
                query, rows = STARTING_ROWS[service]
                found += [] if sync_conn.execute(sa.text(query)).scalar() == rows else [query]
            return found

        async with engine.connect() as conn:
            found = await conn.run_sync(differences)
        assert found == []
    finally:
        async with engine.begin() as conn:
            await conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        await engine.dispose()


def _alembic_own(difference) -> bool:
    return difference[0] == "remove_table" and difference[1].name == "alembic_version"
