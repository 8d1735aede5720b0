"""`pss-intake serve` runs the service; `pss-intake migrate` upgrades its schema;
`pss-intake reseal` re-seals its personal data under the newest key (servicekit.vault)."""

from pathlib import Path

from servicekit.entrypoint import reseal_command, service_main

from intake import tables
from intake.bootstrap import build
from intake.settings import IntakeSettings

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# every column holding personal data, sealed at rest
SEALED = [
    (tables.contact, ("name_sealed", "phone_sealed", "email_sealed", "worker_token_sealed")),
    (tables.worker_message, ("to_sealed", "body_sealed")),
]

main = service_main(
    "intake", build, MIGRATIONS, commands={"reseal": reseal_command("intake", SEALED, IntakeSettings)}
)

if __name__ == "__main__":
    main()
