"""Wires metrics: plumbing, consumers and API. Nothing connects here."""

from servicekit.service import Service, build_service

from metrics.api import router
from metrics.consumers import make_subscriptions
from metrics.settings import MetricsSettings


def build(settings: MetricsSettings | None = None) -> Service:
    settings = settings or MetricsSettings()
    service = build_service(
        "metrics",
        settings,
        subscriptions=make_subscriptions(),
        title="metrics",
        description="De-identified per-site aggregates.",
    )
    service.api.state.uow = service.uow
    service.api.state.settings = settings
    service.api.include_router(router)
    return service
