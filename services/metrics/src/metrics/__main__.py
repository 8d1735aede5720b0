"""`pss-metrics serve` runs the service; `pss-metrics migrate` upgrades its schema."""

from pathlib import Path

from servicekit.entrypoint import service_main

from metrics.bootstrap import build

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"

main = service_main("metrics", build, MIGRATIONS)

if __name__ == "__main__":
    main()
