"""`pss-oncall serve` runs the service; `pss-oncall migrate` upgrades its schema."""

from pathlib import Path

from servicekit.entrypoint import service_main

from oncall.bootstrap import build

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

main = service_main("oncall", build, MIGRATIONS)

if __name__ == "__main__":
    main()
