"""Wires intake: settings, plumbing, vault, mailer, API, consumers and housekeeping.
Nothing connects here."""

from datetime import timedelta
from functools import partial

from servicekit.mail import Mailer, SmtpMailer
from servicekit.service import Service, build_service, repeat

from intake import handlers
from intake.api import router
from intake.consumers import make_subscriptions
from intake.settings import IntakeSettings
from intake.vault import PersonalDataVault


def build(settings: IntakeSettings | None = None, mailer: Mailer | None = None) -> Service:
    settings = settings or IntakeSettings()
    service = build_service(
        "intake",
        settings,
        subscriptions=make_subscriptions(),
        title="intake",
        description="Every way a worker reaches the program, and the case; the only holder of personal data.",
    )
    vault = PersonalDataVault(settings.personal_data_keys)
    if mailer is None and settings.smtp_host:
        mailer = SmtpMailer(settings.smtp_host, settings.smtp_port, settings.mail_from)
    service.api.state.uow = service.uow
    service.api.state.vault = vault
    service.api.state.settings = settings
    service.api.include_router(router)
    service.loops.append(
        partial(
            repeat,
            partial(
                handlers.housekeeping_once,
                service.uow,
                timedelta(days=settings.purge_after_days),
                mailer,
                vault,
            ),
            interval=settings.housekeeping_poll_seconds,
            name="intake.housekeeping",
        )
    )
    return service
