"""The console entry point every service shares: ``<service> migrate`` and ``<service> serve``,
and any operator command of the service's own (``pss-metrics rebuild``)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from servicekit.migrations import upgrade
from servicekit.service import Service, run
from servicekit.settings import ServiceSettings


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
