"""`pss-oncall serve` runs the service; `pss-oncall migrate` upgrades its schema;
`pss-oncall reseal` re-seals its personal data under the newest key (servicekit.vault)."""

import asyncio
import json
from pathlib import Path

from servicekit.database import Database
from servicekit.entrypoint import service_main
from servicekit.vault import PersonalDataVault, reseal

from oncall import tables
from oncall.bootstrap import build
from oncall.settings import OncallSettings

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

SEALED = [(tables.contact_route, ("address",))]


def reseal_command() -> int:
    """Prints the rows re-sealed per table as JSON."""
    settings = OncallSettings()

    async def run() -> dict[str, int]:
        database = Database(settings.database_url, schema="oncall", pool_size=1)
        vault = PersonalDataVault(settings.personal_data_keys)
        try:
            return {t.name: await reseal(database.sessions, vault, t, columns) for t, columns in SEALED}
        finally:
            await database.dispose()

    print(json.dumps({"resealed": asyncio.run(run())}))
    return 0


main = service_main("oncall", build, MIGRATIONS, commands={"reseal": reseal_command})

if __name__ == "__main__":
    main()
