"""What each notification says: pure, no I/O. A message names the site, the kind of
request, how urgent it is and what to do; never the worker, their unit or their story."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from contracts.time_text import time_text, zone_of


class MessageKind(StrEnum):
    PAGE = "page"
    FILLED = "filled"  # the group page is staffed: the others need not answer
    BREACH = "breach"  # a service level was missed
    GAP = "gap"  # a coming hole in the schedule
    REMINDER = "reminder"  # a certification runs out soon
    DEBRIEF = "debrief"


# the signal a unit of work that queued a message gives the delivery loop (servicekit's
# UnitOfWork.signal_after_commit): a page goes out when its transaction commits
QUEUED = "oncall.notifications"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"  # claimed by one replica for a lease
    DELIVERED = "delivered"
    FAILED = "failed"
    CANCELLED = "cancelled"


def _when(detail: dict[str, Any], key: str) -> str:
    """A moment of ``detail`` in the zone it names (a site's), with the zone's abbreviation."""
    raw = detail.get(key)
    if not raw:
        return "soon"
    try:
        moment = datetime.fromisoformat(str(raw))
    except ValueError:
        return str(raw)
    return time_text(moment, zone_of(detail.get("time_zone")))


def compose(kind: MessageKind | str, detail: dict[str, Any], links: dict[str, str]) -> tuple[str, str]:
    """(subject, body) of a notification of ``kind``."""
    site = detail.get("site_id", "your site")
    if kind == MessageKind.PAGE:
        urgent = "URGENT (crisis) " if detail.get("crisis") else ""
        who = {
            "coordinator": "as the site coordinator",
            "authority_fallback": "as the authority's fallback",
        }.get(detail.get("role", ""), "as a peer supporter")
        body = [
            f"A colleague at {site} has asked for peer support and you are paged {who}.",
            f"Please answer by {_when(detail, 'acknowledge_by')}, or the next person is paged.",
            "",
            f"Take it:          {links.get('acknowledge', '')}",
            f"Cannot take it:   {links.get('decline', '')}",
            "",
            "This message holds nothing about the person. Once you take the case, sign in to see",
            "how to reach them. Each link works once.",
        ]
        return f"{urgent}Peer support request at {site}", "\n".join(body)
    if kind == MessageKind.FILLED:
        return (
            f"Team complete at {site}",
            f"The support team for the group activation at {site} is complete."
            " Thank you; no action is needed.",
        )
    if kind == MessageKind.BREACH:
        what = {
            "callback": f"has not been called back within {detail.get('target_minutes')} minutes",
            "meeting": f"has not been met within {detail.get('target_minutes')} minutes",
        }.get(detail.get("level", ""), "missed a service level")
        taken = (
            " Someone took it, so paging has started again."
            if detail.get("reopened")
            else (" Someone took it." if detail.get("acknowledged") else " Nobody has taken it yet.")
        )
        return (
            f"Service level missed at {site}",
            f"Referral {detail.get('referral_id')} at {site} {what}.{taken}\nPlease follow up in the queue.",
        )
    if kind == MessageKind.GAP:
        layer = detail.get("layer", "")
        return (
            f"Coverage gap ahead at {site}",
            f"Nobody is scheduled as {layer} at {site} from {detail.get('starts_local')} to"
            f" {detail.get('ends_local')} ({detail.get('time_zone')}).\nPlease add an override or a swap.",
        )
    if kind == MessageKind.REMINDER:
        return (
            f"Certification renewal due: {detail.get('course')}",
            f"The {detail.get('course')} certification of {detail.get('supporter')} expires on"
            f" {detail.get('expires_on')}. Without a renewal they are not offered for peer support"
            " from that moment. Please book the renewal.",
        )
    if kind == MessageKind.DEBRIEF:
        return (
            "A debrief is there for you",
            "Thank you for the support you just gave. Supporters carry a lot: a debrief with your"
            " coordinator or a colleague from the team is there for you, whenever suits you.\n"
            "Let us know in the app whether you had one or do not need one.",
        )
    raise ValueError(f"unknown notification kind {kind!r}")


SMS_LIMIT = 320  # two parts of a text message


def sms_text(kind: MessageKind | str, detail: dict[str, Any], links: dict[str, str], code: str | None) -> str:
    """The notification as a text message: a page says its site, its urgency, the time to
    answer by and the reply code (T to take, D to decline), then the link."""
    subject, body = compose(kind, detail, links)
    if kind == MessageKind.PAGE:
        parts = [f"{subject}. Answer by {_when(detail, 'acknowledge_by')}."]
        if code:
            parts.append(f"Reply T {code} to take it, D {code} to decline.")
        if links.get("acknowledge"):
            parts.append(links["acknowledge"])
        return " ".join(parts)[:SMS_LIMIT]
    return f"{subject}. {body.splitlines()[0]}"[:SMS_LIMIT]
