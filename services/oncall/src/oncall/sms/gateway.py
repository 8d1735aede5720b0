"""Sending a text through the authority's SMS gateway: Twilio's Messages API, or a signed
JSON POST for any other gateway. The gateway's id of each message comes back, so its
delivery callbacks can be matched to the notification."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Literal

import httpx

from oncall.notifiers import Channel, DeliveryFailed, Message
from oncall.outgoing import Outgoing
from oncall.sms.signatures import signed_json_signature

Kind = Literal["twilio", "signed_json"]


@dataclass(frozen=True)
class SmsGateway:
    kind: Kind
    url: str  # Twilio's API base (https://api.twilio.com), or the gateway's send address
    account: str  # Twilio's Account SID (unused by signed JSON)
    secret: str  # Twilio's auth token, or the signed-JSON shared secret
    sender: str  # the number texts come from
    status_callback: str  # where the gateway reports delivered or failed


class SmsNotifier:
    channel = Channel.SMS

    def __init__(
        self, gateway: SmsGateway, *, timeout_seconds: float = 10.0, http: Outgoing | None = None
    ) -> None:
        self._gateway = gateway
        self._timeout = timeout_seconds
        self._http = http or Outgoing()

    async def deliver(self, message: Message, address: str) -> str | None:
        g = self._gateway
        text = message.short or message.subject
        client = self._http.client()
        try:
            if g.kind == "twilio":
                response = await client.post(
                    f"{g.url.rstrip('/')}/2010-04-01/Accounts/{g.account}/Messages.json",
                    data={
                        "To": address,
                        "From": g.sender,
                        "Body": text,
                        "StatusCallback": g.status_callback,
                    },
                    auth=(g.account, g.secret),
                    timeout=self._timeout,
                )
            else:
                body = json.dumps(
                    {
                        "to": address,
                        "text": text,
                        "reference": str(message.notification_id),
                        "status_callback": g.status_callback,
                    }
                ).encode()
                stamp = str(int(time.time()))
                response = await client.post(
                    g.url,
                    content=body,
                    headers={
                        "Content-Type": "application/json",
                        "X-PSS-Timestamp": stamp,
                        "X-PSS-Signature": signed_json_signature(g.secret, stamp, body),
                    },
                    timeout=self._timeout,
                )
        except httpx.HTTPError as exc:
            raise DeliveryFailed(f"sms: {type(exc).__name__}") from exc
        if not response.is_success:
            raise DeliveryFailed(f"sms: HTTP {response.status_code}")
        try:
            answer = response.json()
        except ValueError:
            return None
        found = answer.get("sid") if g.kind == "twilio" else answer.get("id")
        return str(found) if found else None
