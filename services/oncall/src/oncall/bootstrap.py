"""Wires oncall: plumbing, API, consumers, the timer loop and the notifier."""

from datetime import timedelta
from functools import partial

from servicekit.service import Service, build_service, repeat

from oncall import handlers
from oncall.api import router
from oncall.consumers import make_subscriptions
from oncall.eligibility import AskMatching, EligibleNow, trust_the_snapshot
from oncall.notifiers import Notifier, RecordingNotifier
from oncall.settings import OncallSettings


def build(settings: OncallSettings | None = None, notifier: Notifier | None = None) -> Service:
    settings = settings or OncallSettings()
    eligible_now: EligibleNow = trust_the_snapshot
    if settings.matching_url and settings.service_token:
        eligible_now = AskMatching(settings.matching_url, settings.service_token)
    policy = handlers.PagingPolicy(
        ack_timeout=timedelta(seconds=settings.ack_timeout_seconds),
        crisis_ack_timeout=timedelta(seconds=settings.crisis_ack_timeout_seconds),
        supporters_in_chain=settings.supporters_in_chain,
        eligible_now=eligible_now,
    )
    service = build_service(
        "oncall",
        settings,
        subscriptions=make_subscriptions(policy),
        title="oncall",
        description="Paging episodes with durable timers: primary, backup, coordinator.",
    )
    notifier = notifier or RecordingNotifier()
    service.api.state.uow = service.uow
    service.api.state.policy = policy
    service.api.include_router(router)
    service.loops += [
        partial(
            repeat,
            partial(handlers.fire_due_timers_once, service.uow, policy),
            interval=settings.timer_poll_seconds,
            name="oncall.timers",
        ),
        partial(
            repeat,
            partial(handlers.deliver_notifications_once, service.uow, notifier, settings.public_base_url),
            interval=settings.timer_poll_seconds,
            name="oncall.notifications",
        ),
    ]
    return service
