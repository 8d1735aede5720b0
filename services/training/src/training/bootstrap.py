"""Wires training: plumbing, API and the timer loop (expiries and reminders)."""

from datetime import UTC, datetime, timedelta
from functools import partial

from servicekit import timers
from servicekit.service import Service, build_service, repeat

from training import common
from training import tables as t
from training.api import router
from training.certification import handlers as certification
from training.consumers import make_subscriptions
from training.settings import TrainingSettings
from training.supporter_care import handlers as supporter_care

ABOUT = "Certifications, renewals, expiries at their moment, reminders and eligibility."


def build(settings: TrainingSettings | None = None) -> Service:
    settings = settings or TrainingSettings()
    service = build_service("training", settings, subscriptions=make_subscriptions(), description=ABOUT)
    service.api.state.policy = common.TrainingPolicy(
        time_zone=settings.authority_time_zone, reminder_days=tuple(settings.reminder_days)
    )
    service.api.include_router(router)
    expiries = timers.TimerLoop(service.units_one_at_a_time(), t.timer, certification.fire_due_timers)
    service.loops.append(
        partial(
            repeat,
            expiries.step,
            interval=settings.timer_poll_seconds,
            name="training.timers",
            # asleep until the next timer is due, or one started here commits (it looked
            # every second)
            rest=expiries.rest,
            wake=service.uow.signal(timers.started(t.timer)),
        )
    )

    async def forget_closures() -> int:
        kept = timedelta(hours=settings.closure_kept_hours)
        async with service.uow() as uow:
            return await supporter_care.forget_closures(uow, older_than=datetime.now(UTC) - kept)

    service.loops.append(partial(repeat, forget_closures, interval=3600, name="training.closures"))
    return service
