"""Placing a page's phone call through Twilio's Calls API. Twilio fetches what to say from
oncall when the call is answered (``/voice/twilio/answer``, signed), so nothing about the page
is in the request that places it, and the gateway's id of the call comes back for its status
reports (a call nobody picks up fails, and the page goes to the person's next route)."""

from __future__ import annotations

import httpx

from oncall.notifiers import Channel, DeliveryFailed, Message
from oncall.outgoing import Outgoing
from oncall.sms.gateway import SmsGateway
from oncall.voice.speech import with_code

ANSWER = "/voice/twilio/answer"
STATUS = "/voice/twilio/status"


class VoiceNotifier:
    channel = Channel.VOICE

    def __init__(
        self,
        gateway: SmsGateway,
        public_base_url: str,
        *,
        timeout_seconds: float = 10.0,
        http: Outgoing | None = None,
    ) -> None:
        self._gateway = gateway
        self._base = public_base_url.rstrip("/")
        self._timeout = timeout_seconds
        self._http = http or Outgoing()

    async def deliver(self, message: Message, address: str) -> str | None:
        g = self._gateway
        if not message.code:
            # delivery never calls for anything but a page with its code (see delivery.py)
            raise DeliveryFailed("voice: a call needs a page's reply code")
        try:
            response = await self._http.client().post(
                f"{g.url.rstrip('/')}/2010-04-01/Accounts/{g.account}/Calls.json",
                data={
                    "To": address,
                    "From": g.sender,
                    "Url": with_code(self._base + ANSWER, message.code),
                    "Method": "POST",
                    "StatusCallback": self._base + STATUS,
                    "StatusCallbackMethod": "POST",
                    # a page rings for a minute at most: then the next route is tried
                    "Timeout": "60",
                },
                auth=(g.account, g.secret),
                timeout=self._timeout,
            )
        except httpx.HTTPError as exc:
            raise DeliveryFailed(f"voice: {type(exc).__name__}") from exc
        if not response.is_success:
            raise DeliveryFailed(f"voice: HTTP {response.status_code}")
        try:
            sid = response.json().get("sid")
        except ValueError:
            return None
        return str(sid) if sid else None
