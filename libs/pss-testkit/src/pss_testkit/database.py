"""A service's tables on a fresh schema of the test PostgreSQL server, and the statements
a piece of code runs there: round trips are what the event path pays for most."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import sqlalchemy as sa
from servicekit import driver
from servicekit.database import Database
from servicekit.tables import PLUMBING


@contextlib.asynccontextmanager
async def scratch_schema(admin_url: str, metadata: sa.MetaData) -> AsyncIterator[Database]:
    """A Database on a new schema holding the plumbing (outbox, inbox) and ``metadata``'s
    tables; the schema is dropped afterwards."""
    schema = f"scratch_{uuid.uuid4().hex[:8]}"
    database = Database(admin_url.replace("postgresql://", "postgresql+asyncpg://"), schema=schema)
    async with database.engine.begin() as conn:
        await conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        await conn.run_sync(PLUMBING.create_all)
        await conn.run_sync(metadata.create_all)
    try:
        yield database
    finally:
        async with database.engine.begin() as conn:
            await conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        await database.dispose()


@contextlib.contextmanager
def statements_run(database: Database) -> Iterator[list[str]]:
    """The statements run on ``database`` meanwhile, each a round trip: through SQLAlchemy and
    on the driver (``servicekit.driver``) alike, in the order sent (BEGIN and COMMIT, which
    asyncpg sends itself, not counted)."""
    seen: list[str] = []

    def through_sqlalchemy(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    def on_driver(engine: Any, statement: str, *_: Any) -> None:
        if engine is database.engine:
            seen.append(statement)

    engine = database.engine.sync_engine
    sa.event.listen(engine, "before_cursor_execute", through_sqlalchemy)
    driver.observers.append(on_driver)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", through_sqlalchemy)
        driver.observers.remove(on_driver)


@contextlib.asynccontextmanager
async def round_trips(database: Database) -> AsyncIterator[list[str]]:
    """Every query asyncpg sends on ``database``'s pooled connections meanwhile, BEGIN and
    COMMIT included (``statements_run`` leaves them out): what a transaction costs beyond its
    statements. A connection counts from its next checkout."""
    sent: list[str] = []
    watched: list[Any] = []

    def log(record: Any) -> None:
        sent.append(record.query)

    @sa.event.listens_for(database.engine.sync_engine, "checkout")
    def watch(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        connection = dbapi_connection.driver_connection
        if connection not in watched:
            connection.add_query_logger(log)
            watched.append(connection)

    try:
        yield sent
        # asyncpg tells its loggers soon after a query, not at once
        await asyncio.sleep(0.05)
    finally:
        sa.event.remove(database.engine.sync_engine, "checkout", watch)
        for connection in watched:
            connection.remove_query_logger(log)
