"""A local SMS gateway that speaks as Twilio does: its Messages and Calls APIs take what oncall
sends (with the account's Basic authentication), and replies, a call picked up, keys pressed
and status reports go back to oncall as Twilio's form posts, signed with
``X-Twilio-Signature`` the way Twilio signs them. The platform's texts and calls in
``pss dev`` (written to ``.run/sms/``) and in the tests.

The signature is written here a second time on purpose, from Twilio's description rather
than from oncall's code: a test where both sides share one function would prove nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx

from pss_dev.local import free_port

API = "/2010-04-01/Accounts/{account}/Messages.json"
CALLS = "/2010-04-01/Accounts/{account}/Calls.json"


class _Server(ThreadingHTTPServer):
    # oncall sends to several people at once, as a provider's API takes them; the default
    # backlog of 5 refused connections beyond it
    request_queue_size = 128
    daemon_threads = True


@dataclass(frozen=True)
class SentText:
    sid: str
    to: str
    sender: str
    body: str
    status_callback: str


@dataclass(frozen=True)
class PlacedCall:
    sid: str
    to: str
    sender: str
    url: str  # what Twilio fetches the call's words from when it is picked up
    status_callback: str


def twilio_sign(token: str, url: str, form: dict[str, str]) -> str:
    """Twilio's request signature: the URL, then each form field sorted by name as name and
    value run together, HMAC-SHA1 with the auth token, in base64."""
    payload = url
    for name in sorted(form):
        payload += name + form[name]
    return base64.b64encode(hmac.new(token.encode(), payload.encode(), hashlib.sha1).digest()).decode()


class SmsGateway:
    def __init__(
        self,
        directory: Path | None = None,
        *,
        account: str = "AClocal0000000000000000000000000000",
        token: str | None = None,
        sender: str = "+15550009999",
    ) -> None:
        self.account, self.sender = account, sender
        self.token = token or secrets.token_hex(16)
        self.directory = directory
        self.sent: list[SentText] = []
        self.calls: list[PlacedCall] = []
        self._lock = threading.Lock()
        self.port = free_port()
        self._server: ThreadingHTTPServer | None = None  # listening once started

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def oncall_env(self) -> dict[str, str]:
        """What oncall needs to send through this gateway and trust its replies."""
        return {
            "SMS_GATEWAY": "twilio",
            "SMS_GATEWAY_URL": self.url,
            "SMS_ACCOUNT": self.account,
            "SMS_SECRET": self.token,
            "SMS_FROM": self.sender,
        }

    def start(self) -> SmsGateway:
        if self.directory:
            self.directory.mkdir(parents=True, exist_ok=True)
        self._server = _Server(("127.0.0.1", self.port), self._handler())
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def texts_to(self, phone: str) -> list[SentText]:
        with self._lock:
            return [t for t in self.sent if t.to == phone]

    def calls_to(self, phone: str) -> list[PlacedCall]:
        with self._lock:
            return [c for c in self.calls if c.to == phone]

    def _call_form(self, call: PlacedCall, **more: str) -> dict[str, str]:
        return {
            "CallSid": call.sid,
            "AccountSid": self.account,
            "From": self.sender,
            "To": call.to,
            "Direction": "outbound-api",
            "CallStatus": "in-progress",
            **more,
        }

    def pick_up(self, call: PlacedCall) -> httpx.Response:
        """The phone is answered: Twilio asks oncall what to say (TwiML)."""
        return self.post_signed(call.url, self._call_form(call))

    def press(self, call: PlacedCall, action_url: str, digits: str) -> httpx.Response:
        """A key pressed while the call's <Gather> listens: posted to its action address."""
        return self.post_signed(action_url, self._call_form(call, Digits=digits))

    def call_ended(self, call: PlacedCall, status: str) -> httpx.Response:
        """Twilio's status report of the call: completed, busy, no-answer, failed or canceled."""
        return self.post_signed(call.status_callback, self._call_form(call, CallStatus=status))

    def reply(self, inbound_url: str, phone: str, text: str, *, sid: str | None = None) -> httpx.Response:
        """The phone's owner texts back: Twilio posts the message to oncall, signed."""
        form = {
            "MessageSid": sid or "SM" + secrets.token_hex(16),
            "AccountSid": self.account,
            "From": phone,
            "To": self.sender,
            "Body": text,
            "NumMedia": "0",
        }
        return self.post_signed(inbound_url, form)

    def report(self, callback_url: str, sid: str, status: str) -> httpx.Response:
        """Twilio's delivery report of a message it sent."""
        form = {"MessageSid": sid, "AccountSid": self.account, "MessageStatus": status, "SmsStatus": status}
        return self.post_signed(callback_url, form)

    def post_signed(self, url: str, form: dict[str, str], *, token: str | None = None) -> httpx.Response:
        signature = twilio_sign(token or self.token, url, form)
        return httpx.post(url, data=form, headers={"X-Twilio-Signature": signature}, timeout=30)

    def _record(self, placed: SentText | PlacedCall) -> None:
        with self._lock:
            if isinstance(placed, SentText):
                self.sent.append(placed)
            else:
                self.calls.append(placed)
            if self.directory:
                kind = "texts" if isinstance(placed, SentText) else "calls"
                with (self.directory / f"{kind}.jsonl").open("a") as log:
                    log.write(json.dumps(placed.__dict__) + "\n")

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            # keeps the connection between requests, as a provider's API does
            protocol_version = "HTTP/1.1"

            def log_message(self, *_: Any) -> None:
                pass

            def do_POST(self) -> None:
                # read whatever the answer: on a kept connection the next request follows it
                length = int(self.headers.get("Content-Length", 0))
                sent = self.rfile.read(length).decode()
                expected = "Basic " + base64.b64encode(f"{gateway.account}:{gateway.token}".encode()).decode()
                if self.path not in (
                    API.format(account=gateway.account),
                    CALLS.format(account=gateway.account),
                ):
                    return self._answer(
                        404, {"code": 20404, "message": "The requested resource was not found"}
                    )
                if not hmac.compare_digest(self.headers.get("Authorization", ""), expected):
                    return self._answer(401, {"code": 20003, "message": "Authenticate"})
                form = dict(parse_qsl(sent))
                if self.path.endswith("/Calls.json"):
                    return self._call(form)
                if not form.get("To") or not form.get("Body"):
                    return self._answer(400, {"code": 21604, "message": "A 'To' and a 'Body' are required"})
                sid = "SM" + secrets.token_hex(16)
                gateway._record(
                    SentText(
                        sid, form["To"], form.get("From", ""), form["Body"], form.get("StatusCallback", "")
                    )
                )
                self._answer(201, {"sid": sid, "status": "queued", "to": form["To"]})

            def _call(self, form: dict[str, str]) -> None:
                if not form.get("To") or not form.get("Url"):
                    return self._answer(400, {"code": 21205, "message": "A 'To' and a 'Url' are required"})
                sid = "CA" + secrets.token_hex(16)
                gateway._record(
                    PlacedCall(
                        sid, form["To"], form.get("From", ""), form["Url"], form.get("StatusCallback", "")
                    )
                )
                self._answer(201, {"sid": sid, "status": "queued", "to": form["To"]})

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        return Handler
