"""Notifiers behind one interface. A page's message carries a link and ids, never anything
about the worker."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Notification:
    notification_id: int
    page_id: str
    recipient: str
    acknowledge_url: str
    crisis: bool


class Notifier(Protocol):
    channel: str

    async def deliver(self, notification: Notification) -> None: ...


class RecordingNotifier:
    """For development and tests: records what would have been sent."""

    channel = "recording"

    def __init__(self) -> None:
        self.sent: list[Notification] = []

    async def deliver(self, notification: Notification) -> None:
        self.sent.append(notification)
        log.info("page delivered (recording notifier)", extra={"page_id": notification.page_id})
