"""How an SMS gateway proves a request is its own: pure, no I/O.

Twilio signs each webhook with the account's auth token: HMAC-SHA1 over the full URL it
called followed by every POST parameter, sorted by name, name then value, base64-encoded, in
``X-Twilio-Signature``. The signed-JSON variant (for the other gateways, or the authority's
own relay) signs ``<timestamp>.<raw body>`` with HMAC-SHA256 and a shared secret, hex in
``X-PSS-Signature: sha256=...``, the Unix time in ``X-PSS-Timestamp``; a request older than
five minutes is refused, so a captured one cannot be replayed later.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Iterable

SIGNED_JSON_TOLERANCE_SECONDS = 300


def twilio_signature(token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    # each name once, in order; a name given several times signs each distinct value, sorted
    # (as Twilio's own libraries do)
    values: dict[str, set[str]] = {}
    for name, value in params:
        values.setdefault(name, set()).add(value)
    signed = url + "".join(name + value for name in sorted(values) for value in sorted(values[name]))
    digest = hmac.new(token.encode(), signed.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def twilio_valid(token: str, url: str, params: Iterable[tuple[str, str]], signature: str | None) -> bool:
    if not token or not signature:
        return False
    return hmac.compare_digest(twilio_signature(token, url, params), signature)


def signed_json_signature(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def signed_json_valid(
    secret: str, timestamp: str | None, body: bytes, signature: str | None, *, now: float | None = None
) -> bool:
    if not secret or not timestamp or not signature:
        return False
    try:
        sent = int(timestamp)
    except ValueError:
        return False
    if abs((time.time() if now is None else now) - sent) > SIGNED_JSON_TOLERANCE_SECONDS:
        return False
    return hmac.compare_digest(signed_json_signature(secret, timestamp, body), signature)


def phone_digest(key: str, phone: str) -> bytes:
    """A phone number as a keyed digest: what the reply codes are looked up by, so no table
    holds a supporter's number in the clear."""
    return hmac.new(key.encode(), b"phone:" + normalise(phone).encode(), hashlib.sha256).digest()


def normalise(phone: str) -> str:
    """+1 555 010 0199, (555) 010-0199 and +15550100199 are one number (E.164)."""
    digits = "".join(c for c in phone if c.isdigit())
    return "+" + (("1" + digits) if len(digits) == 10 and not phone.strip().startswith("+") else digits)
