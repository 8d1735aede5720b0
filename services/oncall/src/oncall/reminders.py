"""Training's reminders and debrief prompts, sent like any other message."""

from __future__ import annotations

from contracts import Envelope
from contracts.events import (
    CertificationExpiring,
    DebriefPrompted,
)
from servicekit.database import UnitOfWork

from oncall.duty import coordinator_of
from oncall.messages import MessageKind
from oncall.paging.chain import notify


async def on_certification_expiring(
    event: CertificationExpiring, uow: UnitOfWork, _envelope: Envelope
) -> None:
    """training's reminder ahead of an expiry goes to the supporter and to their site's
    coordinator, through the same routes as a page."""
    detail = {
        "course": event.course,
        "expires_on": event.expires_at.strftime("%Y-%m-%d %H:%M UTC"),
        "days_before": event.days_before,
        "supporter": event.supporter,
    }
    await notify(uow, MessageKind.REMINDER, event.supporter, site_id=event.home_site, detail=detail)
    coordinator = await coordinator_of(uow, event.home_site)
    if coordinator and coordinator != event.supporter:
        await notify(uow, MessageKind.REMINDER, coordinator, site_id=event.home_site, detail=detail)


async def on_debrief_prompted(event: DebriefPrompted, uow: UnitOfWork, _envelope: Envelope) -> None:
    """After an encounter, training offers the supporter a debrief; the message goes to
    them alone, through their own routes."""
    await notify(
        uow,
        MessageKind.DEBRIEF,
        event.supporter,
        site_id=event.home_site,
        detail={"prompt_id": str(event.prompt_id)},
    )
