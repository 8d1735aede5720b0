"""Notifiers behind one interface: e-mail over SMTP, a generic webhook (SMS gateways,
Teams, pagers) and a recording notifier for development. A message carries a site, ids,
an urgency and links; never anything about the worker."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

import httpx
from servicekit.mail import Mail, Mailer

log = logging.getLogger(__name__)


class Channel(StrEnum):
    EMAIL = "email"
    WEBHOOK = "webhook"
    RECORDING = "recording"


@dataclass(frozen=True)
class Message:
    notification_id: int
    kind: str  # page | filled | breach | gap
    recipient: str
    subject: str
    body: str
    links: dict[str, str] = field(default_factory=dict)  # acknowledge, decline


class DeliveryFailed(RuntimeError):
    """The channel did not take the message; the reason is a kind, not the content."""


class Notifier(Protocol):
    channel: Channel

    async def deliver(self, message: Message, address: str) -> None:
        """Hand the message over, or raise DeliveryFailed."""


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


class WebhookNotifier:
    """POSTs the message as JSON to the route's URL; any 2xx is a delivery."""

    channel = Channel.WEBHOOK

    def __init__(self, *, timeout_seconds: float = 5.0) -> None:
        self._timeout = timeout_seconds

    async def deliver(self, message: Message, address: str) -> None:
        body = {
            "notification_id": message.notification_id,
            "kind": message.kind,
            "recipient": message.recipient,
            "subject": message.subject,
            "text": message.body,
            "links": message.links,
        }
        try:
            async with httpx.AsyncClient(timeout=self._timeout) as client:
                response = await client.post(address, json=body)
        except httpx.HTTPError as exc:
            raise DeliveryFailed(f"webhook: {type(exc).__name__}") from exc
        if not response.is_success:
            raise DeliveryFailed(f"webhook: HTTP {response.status_code}")
