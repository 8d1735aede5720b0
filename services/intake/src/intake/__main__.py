"""`pss-intake serve` runs the service; `pss-intake migrate` upgrades its schema;
`pss-intake reseal` re-seals its personal data under the newest key (servicekit.vault)."""

import asyncio
import json
from pathlib import Path

from servicekit.database import Database
from servicekit.entrypoint import service_main
from servicekit.vault import PersonalDataVault, reseal

from intake import tables
from intake.bootstrap import build
from intake.settings import IntakeSettings

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

SEALED = [
    (tables.contact, ("name_sealed", "phone_sealed", "email_sealed", "worker_token_sealed")),
    (tables.worker_message, ("to_sealed", "body_sealed")),
]


def reseal_command() -> int:
    """Prints the rows re-sealed per table as JSON."""
    settings = IntakeSettings()

    async def run() -> dict[str, int]:
        database = Database(settings.database_url, schema="intake", pool_size=1)
        vault = PersonalDataVault(settings.personal_data_keys)
        try:
            return {t.name: await reseal(database.sessions, vault, t, columns) for t, columns in SEALED}
        finally:
            await database.dispose()

    print(json.dumps({"resealed": asyncio.run(run())}))
    return 0


main = service_main("intake", build, MIGRATIONS, commands={"reseal": reseal_command})

if __name__ == "__main__":
    main()
