"""`pss-training serve` runs the service; `pss-training migrate` upgrades its schema."""

from pathlib import Path

from servicekit.entrypoint import service_main

from training.bootstrap import build

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

main = service_main("training", build, MIGRATIONS)

if __name__ == "__main__":
    main()
