"""Wires intake: settings, plumbing, vault, API and consumers. Nothing connects here."""

from servicekit.service import Service, build_service

from intake.api import router
from intake.consumers import make_subscriptions
from intake.settings import IntakeSettings
from intake.vault import PersonalDataVault


def build(settings: IntakeSettings | None = None) -> Service:
    settings = settings or IntakeSettings()
    service = build_service(
        "intake",
        settings,
        subscriptions=make_subscriptions(),
        title="intake",
        description="Referrals and the case; the only holder of personal data.",
    )
    service.api.state.uow = service.uow
    service.api.state.vault = PersonalDataVault(settings.personal_data_keys)
    service.api.include_router(router)
    return service
