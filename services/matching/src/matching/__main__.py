"""`pss-matching serve` runs the service; `pss-matching migrate` upgrades its schema."""

from pathlib import Path

from servicekit.entrypoint import service_main

from matching.bootstrap import build

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

main = service_main("matching", build, MIGRATIONS)

if __name__ == "__main__":
    main()
