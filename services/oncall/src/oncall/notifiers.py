"""Notifiers behind one interface: e-mail over SMTP, a generic webhook (SMS gateways,
Teams, pagers) and a recording notifier for development. A message carries a site, ids,
an urgency and links; never anything about the worker."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol
from urllib.parse import urlsplit

import httpx
from servicekit.mail import Mail, Mailer

from oncall.outgoing import Outgoing

log = logging.getLogger(__name__)


class Channel(StrEnum):
    EMAIL = "email"
    WEBHOOK = "webhook"
    SMS = "sms"  # through the authority's SMS gateway (oncall.sms), answered by a reply
    VOICE = "voice"  # a phone call through a Twilio gateway (oncall.voice), answered by a key
    RECORDING = "recording"


@dataclass(frozen=True)
class Message:
    notification_id: int
    kind: str  # page | filled | breach | gap
    recipient: str
    subject: str
    body: str
    links: dict[str, str] = field(default_factory=dict)  # acknowledge, decline
    short: str = ""  # the same as a text message, with its reply code where it has one
    code: str | None = None  # a page's reply code for the phone it goes to (a text or a call)


class DeliveryFailed(RuntimeError):
    """The channel did not take the message; the reason is a kind, not the content."""


class Notifier(Protocol):
    channel: Channel

    async def deliver(self, message: Message, address: str) -> str | None:
        """Hand the message over, or raise DeliveryFailed; the channel's id of the message
        where it gives one (an SMS gateway's, for its delivery callbacks)."""


class RecordingNotifier:
    """For development and tests: records what would have been sent."""

    channel = Channel.RECORDING

    def __init__(self) -> None:
        self.sent: list[Message] = []

    async def deliver(self, message: Message, address: str) -> None:
        self.sent.append(message)
        log.info(
            "notification recorded", extra={"notification_id": message.notification_id, "kind": message.kind}
        )


class EmailNotifier:
    channel = Channel.EMAIL

    def __init__(self, mailer: Mailer) -> None:
        self._mailer = mailer

    async def deliver(self, message: Message, address: str) -> None:
        try:
            await self._mailer.send(Mail(to=address, subject=message.subject, body=message.body))
        except OSError as exc:  # smtplib's errors are OSErrors
            raise DeliveryFailed(f"smtp: {type(exc).__name__}") from exc


@dataclass(frozen=True)
class WebhookAllowList:
    """The destinations the authority allows webhooks to reach (its SMS gateway, its pager
    system), so a contact route cannot make the platform call anything else: loopback, a
    private range, a cloud metadata address (server-side request forgery).

    Each entry is ``scheme://host[:port][/path]``; ``:*`` allows any port (tests and
    development only). An address matches when its scheme, host and port are an entry's
    and its path starts with the entry's. Addresses with user information are refused
    (``http://allowed@elsewhere/`` goes elsewhere)."""

    entries: tuple[str, ...] = ()

    def allows(self, address: str) -> bool:
        target = _endpoint(address)
        if target is None:
            return False
        for entry in self.entries:
            allowed = _endpoint(entry, wildcard_port=True)
            if allowed is None:
                continue
            scheme, host, port, path = allowed
            if (scheme, host) == target[:2] and port in ("*", target[2]) and target[3].startswith(path):
                return True
        return False


def _endpoint(url: str, *, wildcard_port: bool = False) -> tuple[str, str, str, str] | None:
    """(scheme, host, port, path) of an http(s) URL, or None for anything else."""
    any_port = False
    if wildcard_port:
        scheme, sep, rest = url.strip().partition("://")
        authority, slash, path = rest.partition("/")
        if authority.endswith(":*"):
            any_port, url = True, f"{scheme}{sep}{authority[:-2]}{slash}{path}"
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
        return None
    default = 443 if parts.scheme == "https" else 80
    shown = "*" if any_port else str(port or default)
    return (parts.scheme, parts.hostname.lower(), shown, parts.path or "/")


class WebhookNotifier:
    """POSTs the message as JSON to the route's URL; any 2xx is a delivery. Only to a
    destination on the allow-list, and never following a redirect elsewhere."""

    channel = Channel.WEBHOOK

    def __init__(
        self, allowed: WebhookAllowList, *, timeout_seconds: float = 5.0, http: Outgoing | None = None
    ) -> None:
        self._allowed = allowed
        self._timeout = timeout_seconds
        self._http = http or Outgoing()

    async def deliver(self, message: Message, address: str) -> None:
        if not self._allowed.allows(address):
            # checked again here: the allow-list may have changed since the route was set
            raise DeliveryFailed("webhook: destination not on the allow-list")
        body = {
            "notification_id": message.notification_id,
            "kind": message.kind,
            "recipient": message.recipient,
            "subject": message.subject,
            "text": message.body,
            "links": message.links,
        }
        try:
            response = await self._http.client().post(address, json=body, timeout=self._timeout)
        except httpx.HTTPError as exc:
            raise DeliveryFailed(f"webhook: {type(exc).__name__}") from exc
        if not response.is_success:
            raise DeliveryFailed(f"webhook: HTTP {response.status_code}")
