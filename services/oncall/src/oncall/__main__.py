"""`pss-oncall serve` runs the service; `pss-oncall migrate` upgrades its schema;
`pss-oncall reseal` re-seals its personal data under the newest key (servicekit.vault)."""

from pathlib import Path

from servicekit.entrypoint import reseal_command, service_main

from oncall import tables
from oncall.bootstrap import build
from oncall.settings import OncallSettings

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# every column holding personal data, sealed at rest
SEALED = [(tables.contact_route, ("address",))]

main = service_main(
    "oncall", build, MIGRATIONS, commands={"reseal": reseal_command("oncall", SEALED, OncallSettings)}
)

if __name__ == "__main__":
    main()
