"""Gives each service its own PostgreSQL role and schema, and runs its migrations.

In production a DBA runs ``deploy/postgres/roles.sql`` and gives each role its secret;
locally the launcher runs the same file and sets development passwords.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql
from servicekit.migrations import upgrade

from pss_cli.paths import repo_root

SERVICES = ("intake", "matching", "oncall", "training", "metrics")


def with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{database}"))


def service_url(admin_url: str, database: str, service: str) -> str:
    """The service's own connection string (asyncpg driver, its own role)."""
    parts = urlsplit(with_database(admin_url, database))
    netloc = f"{service}:{service}-dev@{parts.hostname}:{parts.port or 5432}"
    return urlunsplit(parts._replace(scheme="postgresql+asyncpg", netloc=netloc))


def provision(admin_url: str, database: str) -> dict[str, str]:
    """Create the database, then one role and one schema per service with the same
    ``deploy/postgres/roles.sql`` an authority's DBA runs, and development passwords.
    Idempotent."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    with psycopg.connect(with_database(admin_url, database), autocommit=True) as conn:
        conn.execute((repo_root() / "deploy" / "postgres" / "roles.sql").read_text())
        for service in SERVICES:
            conn.execute(
                sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                    sql.Identifier(service), sql.Literal(f"{service}-dev")
                )
            )
    return {service: service_url(admin_url, database, service) for service in SERVICES}


def migrations_dir(service: str) -> Path:
    module = importlib.import_module(f"{service}.__main__")
    return Path(module.MIGRATIONS)


def migrate_all(urls: dict[str, str]) -> None:
    for service, url in urls.items():
        upgrade(migrations_dir(service), url, schema=service)
