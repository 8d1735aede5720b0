"""Wires metrics: plumbing, consumers, the publication loop and the API. Nothing connects here."""

from datetime import UTC, datetime, timedelta
from functools import partial

from servicekit.service import Service, build_service, repeat

from metrics import handlers
from metrics.api import router
from metrics.consumers import make_subscriptions
from metrics.publication import Cell
from metrics.settings import MetricsSettings


def publication_policy(settings: MetricsSettings) -> handlers.PublicationPolicy:
    def threshold(cell: Cell) -> int:
        return max(settings.suppress_below, settings.suppress_below_by_measure.get(cell[1], 0))

    return handlers.PublicationPolicy(
        grace=timedelta(hours=settings.month_closes_after_hours),
        threshold=threshold,
    )


ABOUT = "De-identified per-site aggregates."


def build(settings: MetricsSettings | None = None) -> Service:
    settings = settings or MetricsSettings()
    service = build_service("metrics", settings, subscriptions=make_subscriptions(), description=ABOUT)
    policy = publication_policy(settings)

    async def publish_next() -> int:
        async with service.uow() as uow:
            return await handlers.publish_next_month(uow, policy, datetime.now(UTC))

    service.api.include_router(router)
    # publishing a quarter of hundreds of sites takes minutes (bench/metrics_rebuild.py): it
    # runs here, never in a request
    service.loops.append(
        partial(repeat, publish_next, interval=settings.publish_poll_seconds, name="metrics.publication")
    )
    return service
