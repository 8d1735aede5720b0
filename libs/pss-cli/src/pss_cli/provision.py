"""Gives each service its own PostgreSQL role and schema, and runs its migrations.

In production a DBA runs the same statements with real secrets (see deploy/); locally the
launcher does it with development passwords.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql
from servicekit.migrations import upgrade

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
    """Create the database, one role and one schema per service. Idempotent."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
        for service in SERVICES:
            role = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (service,)).fetchone()
            if not role:
                conn.execute(
                    sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                        sql.Identifier(service), sql.Literal(f"{service}-dev")
                    )
                )
    with psycopg.connect(with_database(admin_url, database), autocommit=True) as conn:
        conn.execute("REVOKE ALL ON SCHEMA public FROM PUBLIC")
        for service in SERVICES:
            conn.execute(
                sql.SQL("CREATE SCHEMA IF NOT EXISTS {} AUTHORIZATION {}").format(
                    sql.Identifier(service), sql.Identifier(service)
                )
            )
            # no service can read another's tables
            conn.execute(sql.SQL("REVOKE ALL ON SCHEMA {} FROM PUBLIC").format(sql.Identifier(service)))
    return {service: service_url(admin_url, database, service) for service in SERVICES}


def migrations_dir(service: str) -> Path:
    module = importlib.import_module(f"{service}.__main__")
    return Path(module.MIGRATIONS)


def migrate_all(urls: dict[str, str]) -> None:
    for service, url in urls.items():
        upgrade(migrations_dir(service), url, schema=service)
