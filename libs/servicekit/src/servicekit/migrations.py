"""Alembic, the same way for every service.

Each service keeps its revisions inside its package, ``<name>/migrations/versions``, so an
installed service (as in its image) carries them; its ``env.py`` calls :func:`run_env`.
Migrations run as the service's own role with ``search_path`` set to its schema, and the
version table lives in that schema too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa
from alembic import command, context, op
from alembic.config import Config
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from servicekit.tables import PLUMBING


def alembic_config(migrations_dir: Path, database_url: str, schema: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.attributes["database_url"] = database_url
    config.attributes["schema"] = schema
    return config


def upgrade(migrations_dir: Path, database_url: str, schema: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(migrations_dir, database_url, schema), revision)


def run_env() -> None:
    """The body of every service's migrations/env.py (online mode only)."""
    config = context.config
    url: str = config.attributes["database_url"]
    schema: str = config.attributes["schema"]

    def migrate(connection: Connection) -> None:
        connection.execute(sa.text(f'SET search_path TO "{schema}"'))
        context.configure(connection=connection, version_table_schema=schema)
        with context.begin_transaction():
            context.run_migrations()

    async def main() -> None:
        engine = create_async_engine(url)
        async with engine.connect() as connection:
            await connection.run_sync(migrate)
            await connection.commit()
        await engine.dispose()

    asyncio.run(main())


def baseline(sql: Path) -> tuple[Callable[[], None], Callable[[], None]]:
    """``upgrade`` and ``downgrade`` of a service's baseline revision: the plumbing tables,
    then the schema in ``sql``.

    The SQL is ``pg_dump --schema-only`` of a database migrated through the revisions the
    baseline folds in, without the plumbing tables, ``SET`` lines, comments and the schema's
    name (migrations run with ``search_path`` set). The baseline keeps the id of the last
    revision it replaces, so a database already there has nothing to do; a change of schema
    is a new revision after it. tests/deploy/test_migrations.py holds the result to
    ``tables.py``. Statements end a line with ``;`` (no function bodies)."""

    def upgrade() -> None:
        create_plumbing_tables()
        for statement in sql.read_text().split(";\n"):
            if statement.strip():
                op.execute(statement)

    def downgrade() -> None:
        raise NotImplementedError("a baseline is not undone; restore the database from a backup")

    return upgrade, downgrade


def create_plumbing_tables() -> None:
    """Outbox and inbox, from their one definition in ``servicekit.tables``. Called from each
    service's baseline revision. A later change to these tables needs a helper of its own here
    and a revision in every service, never an edit of this one."""
    PLUMBING.create_all(op.get_bind())
