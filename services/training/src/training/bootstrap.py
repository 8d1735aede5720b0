"""Wires training: plumbing and API. Nothing connects here."""

from servicekit.service import Service, build_service

from training.api import router
from training.consumers import make_subscriptions
from training.settings import TrainingSettings


def build(settings: TrainingSettings | None = None) -> Service:
    settings = settings or TrainingSettings()
    service = build_service(
        "training",
        settings,
        subscriptions=make_subscriptions(),
        title="training",
        description="Certifications, renewals and each supporter's eligibility.",
    )
    service.api.state.uow = service.uow
    service.api.include_router(router)
    return service
