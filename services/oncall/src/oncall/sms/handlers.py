"""Two-way SMS: a page's reply code, a reply that takes or declines the page as the person it
was sent to, and the gateway's delivery reports. A reply that matches nothing, a code used
before, a page no longer open: each gets its answer and changes nothing."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from servicekit.auth import Principal, Role
from servicekit.database import UnitOfWork
from sqlalchemy.dialects.postgresql import insert

from oncall import tables as t
from oncall.messages import QUEUED, DeliveryStatus
from oncall.paging import answers
from oncall.paging.policy import PageClosed, PageNotFound, PagingPolicy
from oncall.sms import replies
from oncall.sms.replies import Action, Reply
from oncall.sms.signatures import phone_digest

__all__ = ["answer_once", "code_for", "gateway_reported", "phone_digest", "reply_to"]

# a code is not given again to the same phone for this long, so an old reply finds nothing
CODE_FRESH = timedelta(days=30)
# a reply code is four digits: 0000 to 9999
CODES = 10_000


def free_code(taken: set[str]) -> str | None:
    """A code none of ``taken`` is, drawn at random; None when all are taken. Drawn until one
    is free while most are (a page's text listed the 10,000 codes first, about 6 ms of CPU
    a page: bench/ISSUE25.md, nineteenth round); listed only once half are taken."""
    if len(taken) < CODES // 2:
        while (code := f"{secrets.randbelow(CODES):04d}") in taken:
            pass
        return code
    free = [code for n in range(CODES) if (code := f"{n:04d}") not in taken]
    return free[secrets.randbelow(len(free))] if free else None


# the gateways' statuses of a text or a call, in the order they come: a report never moves a
# message back; a call nobody picked up failed, and the page goes to the next route
RANK = {
    "accepted": 0,
    "queued": 1,
    "initiated": 1,
    "sending": 2,
    "ringing": 2,
    "sent": 3,
    "in-progress": 3,
    "delivered": 4,
    "read": 4,
    "completed": 4,
}
FAILED = {"undelivered", "failed", "rejected", "busy", "no-answer", "canceled"}


async def code_for(uow: UnitOfWork, page_id: uuid.UUID, recipient: str, phone: bytes) -> str | None:
    """The page's reply code for this phone: the same at every attempt, new for each page
    (None when every code of the phone is in use)."""
    c = t.sms_code.c
    found = await uow.session.scalar(
        sa.select(c.code).where(c.phone_digest == phone, c.page_id == page_id, c.recipient == recipient)
    )
    if found is not None:
        return str(found)
    now = datetime.now(UTC)
    recent = sa.select(c.code).where(c.phone_digest == phone, c.created_at > now - CODE_FRESH)
    taken = set((await uow.session.scalars(recent)).all())
    while (code := free_code(taken)) is not None:
        taken.add(code)  # a code another page took meanwhile is not drawn again
        stored = await uow.session.scalar(
            insert(t.sms_code)
            .values(phone_digest=phone, code=code, page_id=page_id, recipient=recipient, created_at=now)
            .on_conflict_do_update(
                # an old code of this phone, unused for a month, may be given again
                index_elements=["phone_digest", "code"],
                set_={"page_id": page_id, "recipient": recipient, "created_at": now, "used_at": None},
                where=c.created_at <= now - CODE_FRESH,
            )
            .returning(c.code)
        )
        if stored is not None:
            return str(stored)
    return None  # ten thousand pages to one phone in a month: the text carries only its link


async def reply_to(uow: UnitOfWork, message_ref: str, phone: bytes, text: str, policy: PagingPolicy) -> str:
    """Answer one inbound text; the same message again (a gateway's retry) gets the same
    reply and changes nothing."""
    return replies.TEXTS[await answer_once(uow, message_ref, phone, replies.parse(text), policy)]


async def answer_once(
    uow: UnitOfWork, ref: str, phone: bytes, asked: tuple[Action, str] | None, policy: PagingPolicy
) -> Reply:
    """One answer from a phone (a text, or a key pressed in a call), kept by the gateway's id
    of it: the same again has the same outcome and changes nothing."""
    said = await uow.session.scalar(
        sa.select(t.sms_inbound.c.reply).where(t.sms_inbound.c.message_ref == ref)
    )
    if said is not None:
        return _kept(str(said))
    outcome = Reply.NOT_UNDERSTOOD if asked is None else await _answer(uow, phone, *asked, policy=policy)
    await uow.session.execute(
        insert(t.sms_inbound)
        .values(message_ref=ref, reply=outcome.value, received_at=datetime.now(UTC))
        .on_conflict_do_nothing()
    )
    return outcome


def _kept(said: str) -> Reply:
    if said in {reply.value for reply in Reply}:
        return Reply(said)
    # kept before outcomes were: the text that was sent back
    return next((reply for reply, text in replies.TEXTS.items() if text == said), Reply.NOT_UNDERSTOOD)


async def _answer(uow: UnitOfWork, phone: bytes, action: Action, code: str, *, policy: PagingPolicy) -> Reply:
    c = t.sms_code.c
    row = (
        await uow.session.execute(
            # no lock here: the answer locks the episode (first, as every answer does), so a
            # second reply with the same code finds the page answered
            sa.select(c.page_id, c.recipient, c.used_at).where(c.phone_digest == phone, c.code == code)
        )
    ).first()
    if row is None:
        return Reply.UNKNOWN  # another phone's code, or none ever given: the same answer
    if row.used_at is not None:
        return Reply.USED
    principal = Principal(
        subject=f"sms:{row.recipient}", roles=frozenset({Role.PEER_SUPPORTER}), staff_ref=row.recipient
    )
    try:
        async with uow.session.begin_nested():  # a refused answer leaves nothing behind
            if action is Action.TAKE:
                await answers.acknowledge(uow, row.page_id, principal)
            else:
                await answers.decline(uow, row.page_id, principal, policy)
    except PageClosed:
        return Reply.CLOSED
    except PageNotFound:
        return Reply.UNKNOWN
    await uow.session.execute(
        sa.update(t.sms_code).where(c.phone_digest == phone, c.code == code).values(used_at=datetime.now(UTC))
    )
    return Reply.TAKEN if action is Action.TAKE else Reply.DECLINED


async def gateway_reported(uow: UnitOfWork, provider_ref: str, status: str, channel: str = "sms") -> bool:
    """A delivery report: kept when it moves the message on; a failure of a message the gateway
    had taken sends the notification to the person's next route (or marks it failed). Whether
    it changed anything."""
    n = t.notification.c
    row = (
        await uow.session.execute(
            sa.select(n.notification_id, n.status, n.gateway_status, n.route)
            .where(n.provider_ref == provider_ref)
            .with_for_update()
        )
    ).first()
    status = status.lower()
    if row is None or (status not in RANK and status not in FAILED):
        return False
    if row.gateway_status in FAILED or (
        status in RANK and row.gateway_status in RANK and RANK[status] <= RANK[row.gateway_status]
    ):
        return False  # a repeat, or a report overtaken by a later one
    values: dict[str, object] = {"gateway_status": status}
    if status in FAILED and row.status == DeliveryStatus.DELIVERED:
        values.update(
            status=DeliveryStatus.PENDING,
            route=row.route + 1,
            attempts=0,
            next_attempt_at=datetime.now(UTC),
            last_error=f"{channel}: {status}",
        )
    await uow.session.execute(
        sa.update(t.notification).where(n.notification_id == row.notification_id).values(**values)
    )
    if values.get("status") == DeliveryStatus.PENDING:
        uow.signal_after_commit(QUEUED)  # on to the next route now
    return True
