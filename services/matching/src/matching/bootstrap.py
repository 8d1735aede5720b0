"""Wires matching: settings, plumbing, API and consumers. Nothing connects here."""

from servicekit.service import Service, build_service

from matching.api import router
from matching.consumers import make_subscriptions
from matching.proposals.handlers import MatchingConfig
from matching.settings import MatchingSettings


def build(settings: MatchingSettings | None = None) -> Service:
    settings = settings or MatchingSettings()
    config = MatchingConfig(
        deployment_cap=settings.deployment_cap,
        window_days=settings.deployment_window_days,
        max_candidates=settings.max_candidates,
        broadcast_limit=settings.broadcast_limit,
    )
    service = build_service(
        "matching",
        settings,
        subscriptions=make_subscriptions(config),
        description="Hard rules, ranked and explained supporters for each referral.",
    )
    service.api.state.matching = config
    service.api.include_router(router)
    return service
