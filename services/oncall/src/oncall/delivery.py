"""Sends queued notifications through each person's contact routes.

Each route is tried up to ``attempts_per_route`` times with exponential backoff; then the
next route is tried; when none is left the notification is marked failed (the page's own
timer still moves the chain on, so a person is reached either way). Every step's status is
kept on the row. A message is composed at sending time, with fresh single-use links.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from servicekit.database import UnitOfWork, UnitOfWorkFactory
from servicekit.driver import DriverStatement
from servicekit.vault import PersonalDataVault
from sqlalchemy.dialects.postgresql import ARRAY

from oncall import tables as t
from oncall.links import LinkSigner
from oncall.me import handlers as own
from oncall.messages import DeliveryStatus, MessageKind, compose, sms_text
from oncall.notifiers import Channel, DeliveryFailed, Message, Notifier
from oncall.sms import handlers as sms

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Route:
    channel: Channel
    address: str


@dataclass(frozen=True)
class Delivery:
    notifiers: Mapping[Channel, Notifier]
    vault: PersonalDataVault | None
    signer: LinkSigner
    public_base_url: str
    attempts_per_route: int = 3
    backoff: timedelta = timedelta(seconds=5)
    # development only: a person with no contact route gets the recording notifier
    record_unrouted: bool = False
    # how long a claimed notification may take to send before another try claims it
    lease: timedelta = timedelta(minutes=2)
    # the key of the phone digests SMS reply codes are found by
    phone_key: str = ""


def _routes(found: list[tuple[str, str]], delivery: Delivery) -> list[Route]:
    if not found:
        return [Route(Channel.RECORDING, "")] if delivery.record_unrouted else []
    return [Route(Channel(channel), address) for channel, address in found]


async def routes_of(uow: UnitOfWork, delivery: Delivery, staff_refs: Iterable[str]) -> dict[str, list[Route]]:
    """Each recipient's routes, read together (a round trip for each was most of a step)."""
    staff_refs = set(staff_refs)
    found = (
        await own.routes_of_each(uow, delivery.vault, staff_refs)
        if delivery.vault is not None
        else {ref: [] for ref in staff_refs}
    )
    return {ref: _routes(each, delivery) for ref, each in found.items()}


def _message(row: Any, delivery: Delivery, now: datetime, code: str | None = None) -> Message:
    links: dict[str, str] = {}
    if row.kind == MessageKind.PAGE and row.page_id is not None:
        token = delivery.signer.sign(row.page_id, row.recipient, now)
        base = delivery.public_base_url.rstrip("/")
        links = {
            "acknowledge": f"{base}/answer?t={token}&a=acknowledge",
            "decline": f"{base}/answer?t={token}&a=decline",
        }
    subject, body = compose(row.kind, dict(row.detail or {}), links)
    short = sms_text(row.kind, dict(row.detail or {}), links, code)
    return Message(row.notification_id, row.kind, row.recipient, subject, body, links, short, code)


SENDING = DeliveryStatus.SENDING
# a page going out on these carries a reply code: answered from the phone itself
ANSWERED_BY_PHONE = (Channel.SMS, Channel.VOICE)


# notifications claimed by one step at most
DELIVER_AT_ONCE = 20


def _claim() -> DriverStatement:
    """The due notifications, oldest first, leased to this step in one statement (a read and
    an update were two round trips for each page). Built once, on the driver: every page goes
    through it, and at rest it is the loop's one statement every second."""
    n = t.notification
    due = (
        sa.select(n.c.notification_id, n.c.next_attempt_at.label("due_at"))
        .where(sa.text(t.STILL_TO_SEND), n.c.next_attempt_at <= sa.bindparam("now"))
        .order_by(n.c.next_attempt_at, n.c.notification_id)
        .limit(sa.bindparam("limit", type_=sa.Integer))
        .with_for_update(skip_locked=True)
        .cte("due")
    )
    return DriverStatement(
        sa.update(n)
        .where(n.c.notification_id == due.c.notification_id)
        .values(status=SENDING, next_attempt_at=sa.bindparam("until"))
        .returning(*n.c, due.c.due_at)
    )


_CLAIM = _claim()


@functools.cache
def _outcome(columns: tuple[str, ...]) -> DriverStatement:
    """An attempt's outcome, for every message whose outcome sets these columns: built once
    for each set, on the driver (a statement built anew had its cache key derived anew, for
    every message)."""
    n = t.notification
    return DriverStatement(
        sa.update(n)
        .where(
            n.c.notification_id == sa.bindparam("id"),
            n.c.status == sa.func.any(sa.bindparam("still", type_=ARRAY(sa.Text))),
        )
        .values({column: sa.bindparam(f"new_{column}") for column in columns})
    )


async def deliver_due(units: UnitOfWorkFactory, delivery: Delivery, *, limit: int = DELIVER_AT_ONCE) -> int:
    """Claim due notifications, send them outside any transaction, then record each
    outcome. A slow mail server or webhook never holds a lock an acknowledgement needs
    (it cancels pending notifications). A claim is a lease: if this process dies while
    sending, the rows come due again when it runs out (at-least-once)."""
    now = datetime.now(UTC)
    # the claim commits at once (it is the lease) and the routes are a read: neither needs a
    # transaction around it, which was two round trips more for every page
    async with units.autocommit() as uow:
        lease = {"now": now, "limit": limit, "until": now + delivery.lease}
        rows = await _CLAIM.rows(uow, lease)
        claimed = sorted(rows, key=lambda row: (row.due_at, row.notification_id))
        if not claimed:
            return 0
        routes = await routes_of(uow, delivery, (r.recipient for r in claimed))
    # a page going out as a text carries a reply code, kept before the text is sent
    coded = [
        (row, route)
        for row in claimed
        if row.kind == MessageKind.PAGE
        and row.page_id is not None
        and (route := _route(routes[row.recipient], row.route)) is not None
        and route.channel in ANSWERED_BY_PHONE
    ]
    codes: dict[Any, str | None] = {}
    if coded:
        async with units() as uow:
            for row, route in coded:
                codes[row.notification_id] = await sms.code_for(
                    uow, row.page_id, row.recipient, sms.phone_digest(delivery.phone_key, route.address)
                )
    outcomes, failure = await _send_all(claimed, routes, delivery, now, codes)
    shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row, values in outcomes:
        # cancelled while it was being sent: a message that went out is still recorded
        delivered = values["status"] == DeliveryStatus.DELIVERED
        still = [SENDING, DeliveryStatus.CANCELLED] if delivered else [SENDING]
        params = {f"new_{column}": value for column, value in values.items()}
        shapes.setdefault(tuple(sorted(values)), []).append(
            {"id": row.notification_id, "still": still, **params}
        )
    # each notification's outcome stands alone: none waits on another's to commit
    async with units.autocommit() as uow:
        for columns, each in shapes.items():
            await _outcome(columns).executemany(uow, each)
    if failure is not None:
        # what was sent is recorded first (else it would go again when its lease ran out)
        raise failure
    return len(claimed)


async def _send_all(
    claimed: list[Any],
    routes: dict[str, list[Route]],
    delivery: Delivery,
    now: datetime,
    codes: dict[Any, str | None],
) -> tuple[list[tuple[Any, dict[str, Any]]], BaseException | None]:
    """Each claimed message's outcome, the messages of different people sent at the same
    time and each person's one after the other, in order. One after the other, a gateway's
    answer time (a tenth of a second or more to a provider's API) bounded how many pages a
    second went out, whatever the machine. An unexpected failure is returned with the
    outcomes of the rest, not raised over them."""
    by_recipient: dict[str, list[Any]] = {}
    for row in claimed:
        by_recipient.setdefault(row.recipient, []).append(row)

    outcomes: list[tuple[Any, dict[str, Any]]] = []

    async def in_turn(rows: list[Any]) -> None:
        for row in rows:
            code = codes.get(row.notification_id)
            outcomes.append((row, await _attempt(row, routes[row.recipient], delivery, now, code)))

    answers = await asyncio.gather(*(in_turn(rows) for rows in by_recipient.values()), return_exceptions=True)
    return outcomes, next((answer for answer in answers if isinstance(answer, BaseException)), None)


def _next_route(row: Any, routes: list[Route], error: str, now: datetime) -> dict[str, Any]:
    """The notification goes on to the person's next route now, or has failed on the last."""
    if row.route + 1 < len(routes):
        return {
            "status": DeliveryStatus.PENDING,
            "attempts": 0,
            "route": row.route + 1,
            "last_error": error,
            "next_attempt_at": now,
        }
    return {"status": DeliveryStatus.FAILED, "last_error": error, "channel": routes[row.route].channel.value}


def _route(routes: list[Route], index: int) -> Route | None:
    return routes[index] if index < len(routes) else None


async def _attempt(
    row: Any, routes: list[Route], delivery: Delivery, now: datetime, code: str | None = None
) -> dict[str, Any]:
    if row.route >= len(routes):
        log.warning(
            "nobody to deliver to: no contact route left", extra={"notification_id": row.notification_id}
        )
        # a gateway's report that the last route failed is kept as the reason
        return {"status": DeliveryStatus.FAILED, "last_error": row.last_error or "no contact route"}
    route = routes[row.route]
    if route.channel is Channel.VOICE and (row.kind != MessageKind.PAGE or not code):
        # a phone rings for a page only (not a filled team or a reminder at 3 a.m.), and only
        # with a code its keys can answer: anything else goes on to the next route at once
        return _next_route(row, routes, "voice: calls are for pages", now)
    notifier = delivery.notifiers.get(route.channel)
    attempts = row.attempts + 1
    try:
        if notifier is None:
            raise DeliveryFailed(f"{route.channel.value}: channel not configured")
        provider_ref = await notifier.deliver(_message(row, delivery, now, code), route.address)
    except DeliveryFailed as exc:
        log.warning(
            "delivery failed",
            extra={"notification_id": row.notification_id, "channel": route.channel.value, "error": str(exc)},
        )
        if attempts < delivery.attempts_per_route:
            wait = delivery.backoff * (2 ** (attempts - 1))
            return {
                "status": DeliveryStatus.PENDING,
                "attempts": attempts,
                "last_error": str(exc),
                "next_attempt_at": now + wait,
                "channel": route.channel.value,
            }
        # this route is not working: fall through to the next one at once
        return {"attempts": attempts, **_next_route(row, routes, str(exc), now)}
    return {
        "attempts": attempts,
        "status": DeliveryStatus.DELIVERED,
        "channel": route.channel.value,
        "delivered_at": now,
        "provider_ref": provider_ref,
    }
