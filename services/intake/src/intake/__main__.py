"""`pss-intake serve` runs the service; `pss-intake migrate` upgrades its schema."""

from pathlib import Path

from servicekit.entrypoint import service_main

from intake.bootstrap import build

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

main = service_main("intake", build, MIGRATIONS)

if __name__ == "__main__":
    main()
