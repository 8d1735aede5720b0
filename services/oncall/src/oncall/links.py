"""Signed, single-use links to answer a page from a message, without signing in.

A link names the page, the person it was sent to, a random nonce and an expiry, signed
with HMAC-SHA256 under the service's secret. Anyone holding it can answer that one page as
that one person, once: the nonce is kept when it is used. It says nothing about the worker.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta


class LinkRefused(ValueError):
    """The link is forged, damaged or expired; the message says which, for the person, and
    ``reason`` (invalid, damaged, expired) lets a page say it in the reader's language."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class AnswerLink:
    page_id: uuid.UUID
    recipient: str
    nonce: str
    expires_at: datetime


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class LinkSigner:
    def __init__(self, secret: str, *, valid_for: timedelta) -> None:
        if len(secret) < 32:
            raise ValueError("PAGE_LINK_SECRET must be at least 32 characters")
        self._key = secret.encode()
        self._valid_for = valid_for

    def _mac(self, body: str) -> str:
        return _b64(hmac.new(self._key, body.encode(), hashlib.sha256).digest())

    def sign(self, page_id: uuid.UUID, recipient: str, now: datetime) -> str:
        claims = {
            "p": str(page_id),
            "r": recipient,
            "n": secrets.token_urlsafe(16),
            "e": int((now + self._valid_for).timestamp()),
        }
        body = _b64(json.dumps(claims, separators=(",", ":")).encode())
        return f"{body}.{self._mac(body)}"

    def verify(self, token: str, now: datetime | None = None) -> AnswerLink:
        body, _, mac = token.partition(".")
        # compared as bytes: a link pasted with other characters is refused, not a crash
        if not body or not mac or not hmac.compare_digest(mac.encode(), self._mac(body).encode()):
            raise LinkRefused(
                "this link is not valid; open the page from the latest message, or sign in", "invalid"
            )
        try:
            claims = json.loads(_unb64(body))
            link = AnswerLink(
                uuid.UUID(claims["p"]),
                str(claims["r"]),
                str(claims["n"]),
                datetime.fromtimestamp(int(claims["e"]), UTC),
            )
        except (ValueError, KeyError, TypeError):
            raise LinkRefused("this link is damaged; open it again from the message", "damaged") from None
        if (now or datetime.now(UTC)) >= link.expires_at:
            raise LinkRefused("this link has expired; sign in to see the page", "expired")
        return link
