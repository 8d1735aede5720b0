"""A page's phone call, as the database knows it: which page a call's code is for and whether
it is still open. The answer itself is the text reply's (oncall.sms.handlers.answer_once)."""

from __future__ import annotations

import sqlalchemy as sa
from servicekit.database import UnitOfWork

from oncall import tables as t
from oncall.escalation import EpisodeStatus, PageStatus, may_answer
from oncall.sms.replies import Reply
from oncall.voice.speech import OpenPage


async def page_called_about(uow: UnitOfWork, phone: bytes, code: str) -> OpenPage | Reply:
    """The open page this phone's code is for, or why there is none to answer."""
    c = t.sms_code.c
    row = (
        await uow.session.execute(
            sa.select(
                c.used_at,
                t.page.c.status,
                t.episode.c.status.label("episode_status"),
                t.page.c.acknowledge_by,
                t.episode.c.site_id,
                t.episode.c.crisis,
                t.schedule.c.time_zone,
            )
            .join(t.page, t.page.c.page_id == c.page_id)
            .join(t.episode, t.episode.c.referral_id == t.page.c.referral_id)
            .outerjoin(t.schedule, t.schedule.c.site_id == t.episode.c.site_id)
            .where(c.phone_digest == phone, c.code == code)
        )
    ).first()
    if row is None:
        return Reply.UNKNOWN  # another phone's code, or none ever given: the same answer
    if row.used_at is not None:
        return Reply.USED
    if not may_answer(EpisodeStatus(row.episode_status), PageStatus(row.status)):
        return Reply.CLOSED
    return OpenPage(row.site_id, bool(row.crisis), row.acknowledge_by, row.time_zone)
