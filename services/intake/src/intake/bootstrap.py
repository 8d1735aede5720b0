"""Wires intake: settings, plumbing, vault, mailer, API, consumers and housekeeping.
Nothing connects here."""

import logging
from datetime import timedelta
from functools import partial

from servicekit.mail import Mailer, SmtpMailer
from servicekit.service import Service, build_service, repeat
from servicekit.vault import PersonalDataVault

from intake.api import router
from intake.consumers import make_subscriptions
from intake.retention import handlers as retention
from intake.settings import IntakeSettings

log = logging.getLogger(__name__)

ABOUT = "Every way a worker reaches the program, and the case; the only holder of personal data."


def build(settings: IntakeSettings | None = None, mailer: Mailer | None = None) -> Service:
    settings = settings or IntakeSettings()
    service = build_service("intake", settings, subscriptions=make_subscriptions(), description=ABOUT)
    vault = PersonalDataVault(settings.personal_data_keys)
    if mailer is None and settings.smtp_host:
        mailer = SmtpMailer(settings.smtp_host, settings.smtp_port, settings.mail_from)
    service.api.state.vault = vault
    service.api.include_router(router)
    service.loops.append(
        partial(
            repeat,
            partial(retention.housekeeping_once, service.uow, timedelta(days=settings.purge_after_days)),
            interval=settings.housekeeping_poll_seconds,
            name="intake.housekeeping",
        )
    )
    if mailer is not None:
        service.loops.append(
            partial(
                repeat,
                partial(retention.deliver_messages_once, service.uow, mailer, vault),
                interval=settings.mail_poll_seconds,
                name="intake.mail",
            )
        )
    else:
        log.warning("no SMTP_HOST: offers of support stay queued until mail is configured")
    return service
