"""The console entry point every service shares: ``<service> migrate`` and ``<service> serve``,
and any operator command of the service's own (``pss-metrics rebuild``)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Protocol

import sqlalchemy as sa

from servicekit.migrations import upgrade
from servicekit.service import Service, run
from servicekit.settings import ServiceSettings


class SealingSettings(Protocol):
    @property
    def database_url(self) -> str: ...
    @property
    def personal_data_keys(self) -> str: ...


def service_main(
    name: str,
    make: Callable[[], Service],
    migrations_dir: Path,
    commands: Mapping[str, Callable[[], int]] | None = None,
) -> Callable[[], None]:
    """``commands``: the service's operator commands, each returning the exit status."""
    extra = dict(commands or {})

    def main(argv: list[str] | None = None) -> None:
        parser = argparse.ArgumentParser(prog=name, description=f"The {name} service.")
        parser.add_argument("command", choices=["serve", "migrate", *extra], nargs="?", default="serve")
        args = parser.parse_args(sys.argv[1:] if argv is None else argv)
        if args.command in extra:
            sys.exit(extra[args.command]())
        if args.command == "migrate":
            upgrade(migrations_dir, ServiceSettings().database_url, schema=name)
        else:
            run(make)

    return main


def reseal_command(
    schema: str, sealed: Sequence[tuple[sa.Table, Sequence[str]]], settings: Callable[[], SealingSettings]
) -> Callable[[], int]:
    """``<service> reseal``: re-seal the service's personal data under the newest key
    (servicekit.vault.reseal), table by table; prints the rows seen per table as JSON."""

    def command() -> int:
        from servicekit.database import Database
        from servicekit.vault import PersonalDataVault, reseal

        current = settings()

        async def run() -> dict[str, int]:
            database = Database(current.database_url, schema=schema, pool_size=2)
            vault = PersonalDataVault(current.personal_data_keys)
            try:
                return {t.name: await reseal(database.sessions, vault, t, columns) for t, columns in sealed}
            finally:
                await database.dispose()

        print(json.dumps({"resealed": asyncio.run(run())}))
        return 0

    return command
