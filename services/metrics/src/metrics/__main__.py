"""`pss-metrics serve` runs the service; `pss-metrics migrate` upgrades its schema;
`pss-metrics rebuild` rebuilds the aggregates from the Kafka history and compares them."""

import asyncio
import json
from pathlib import Path

from servicekit.entrypoint import service_main

from metrics.bootstrap import build
from metrics.rebuild import rebuild
from metrics.settings import MetricsSettings

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def rebuild_command() -> int:
    """Prints the report as JSON; exit status 0 when rebuilt equals live, 3 when not (a month
    still being consumed can differ: compare closed ones)."""
    settings = MetricsSettings()
    report = asyncio.run(rebuild(settings.database_url, settings.kafka_bootstrap_servers))
    print(json.dumps(report, indent=2))
    return 0 if not report["differences"] else 3


main = service_main("metrics", build, MIGRATIONS, commands={"rebuild": rebuild_command})

if __name__ == "__main__":
    main()
