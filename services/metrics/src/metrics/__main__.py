"""`pss-metrics serve` runs the service; `pss-metrics migrate` upgrades its schema;
`pss-metrics rebuild` rebuilds the aggregates from the Kafka history and compares them;
`pss-metrics publish` publishes every closed month now (the service does so on its own), and
every published month's late events as its next correction."""

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

from servicekit.database import Database, UnitOfWork
from servicekit.entrypoint import service_main

from metrics import handlers
from metrics.bootstrap import build, publication_policy
from metrics.rebuild import rebuild
from metrics.settings import MetricsSettings

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def rebuild_command() -> int:
    """Prints the report as JSON; exit status 0 when rebuilt equals live, 3 when not (a month
    still being consumed can differ: compare closed ones)."""
    settings = MetricsSettings()
    report = asyncio.run(rebuild(settings.database_url, settings.kafka_bootstrap_servers))
    print(json.dumps(report, indent=2))
    return 0 if not report["differences"] else 3


def publish_command() -> int:
    """Publishes, in order, every month that has closed and is not published yet, then the
    late events of months published before as their corrections."""
    settings = MetricsSettings()
    policy = publication_policy(settings)

    async def publish() -> dict[str, list[str]]:
        database = Database(settings.database_url, schema="metrics", pool_size=2)
        try:
            async with UnitOfWork(database, producer="metrics") as uow:
                months = await handlers.publish_closed_months(uow, policy, datetime.now(UTC))
            async with UnitOfWork(database, producer="metrics") as uow:
                fixes = await handlers.publish_corrections_now(uow, policy, datetime.now(UTC))
            return {"published": months, "corrections": fixes}
        finally:
            await database.dispose()

    print(json.dumps(asyncio.run(publish())))
    return 0


main = service_main(
    "metrics", build, MIGRATIONS, commands={"rebuild": rebuild_command, "publish": publish_command}
)

if __name__ == "__main__":
    main()
