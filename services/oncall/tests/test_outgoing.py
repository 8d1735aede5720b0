"""Every call oncall makes to others (a page's text or call, a webhook, matching's re-check)
goes over one kept client, against a real HTTP/1.1 server on a local socket."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator

import pytest
from oncall.bootstrap import build
from oncall.eligibility import AskMatching
from oncall.notifiers import Message, WebhookAllowList, WebhookNotifier
from oncall.outgoing import Outgoing
from oncall.settings import OncallSettings
from oncall.sms.gateway import SmsGateway, SmsNotifier
from oncall.voice.calls import VoiceNotifier
from servicekit.auth import DevTokenIssuer

ANSWER = json.dumps({"sid": "SM1", "id": "gw-1", "eligible": ["s-1"]}).encode()


class Server:
    """Answers every request with ANSWER and keeps the connection open; counts both."""

    def __init__(self) -> None:
        self.connections = 0
        self.requests: list[str] = []
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._open:
            writer.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._open.add(writer)
        try:
            while head := await reader.readuntil(b"\r\n\r\n"):
                lines = head.decode("latin-1").split("\r\n")
                length = next(
                    (
                        int(line.split(":", 1)[1])
                        for line in lines
                        if line.lower().startswith("content-length:")
                    ),
                    0,
                )
                await reader.readexactly(length)
                self.requests.append(" ".join(lines[0].split(" ")[:2]))
                writer.write(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                    + f"content-length: {len(ANSWER)}\r\n\r\n".encode()
                    + ANSWER
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self._open.discard(writer)
            writer.close()


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    found = Server()
    await found.start()
    yield found
    await found.stop()


PAGE = Message(notification_id=7, kind="page", recipient="s-1", subject="A page", body="b", code="0412")


def _gateway(kind: str, url: str) -> SmsGateway:
    return SmsGateway(kind, url, "AC1", "secret", "+15550009999", "https://oncall.example.ca/sms/status")  # type: ignore[arg-type]


async def test_every_call_oncall_makes_to_others_goes_over_one_kept_connection(server: Server) -> None:
    http = Outgoing()
    twilio, signed = _gateway("twilio", server.url), _gateway("signed_json", server.url + "/send")
    try:
        assert await SmsNotifier(twilio, http=http).deliver(PAGE, "+15550000001") == "SM1"
        assert await SmsNotifier(signed, http=http).deliver(PAGE, "+15550000001") == "gw-1"
        assert (
            await VoiceNotifier(twilio, "https://oncall.example.ca", http=http).deliver(PAGE, "+1555")
            == "SM1"
        )
        webhooks = WebhookAllowList((server.url + "/hooks/",))
        await WebhookNotifier(webhooks, http=http).deliver(PAGE, server.url + "/hooks/pager")
        eligible = await AskMatching(server.url, "token", http=http)(uuid.uuid4())
    finally:
        await http.close()
    assert eligible == frozenset({"s-1"})
    assert [r.split(" ")[0] for r in server.requests] == ["POST", "POST", "POST", "POST", "GET"]
    # a client made for each call connected anew each time (and built an SSL context each time)
    assert server.connections == 1


async def test_a_closed_client_is_made_anew_and_the_next_page_still_goes(server: Server) -> None:
    http = Outgoing()
    notifier = SmsNotifier(_gateway("twilio", server.url), http=http)
    await notifier.deliver(PAGE, "+15550000001")
    await http.close()
    try:
        assert await notifier.deliver(PAGE, "+15550000001") == "SM1"
    finally:
        await http.close()
    assert server.connections == 2 and len(server.requests) == 2


async def test_oncall_closes_its_client_when_it_stops(server: Server) -> None:
    _, public_pem = DevTokenIssuer.generate(issuer="pss-dev")
    settings = OncallSettings(
        auth_public_key_pem=public_pem,
        sms_gateway="twilio",
        sms_gateway_url=server.url,
        matching_url=server.url,
        service_token="token",
    )
    service = build(settings)  # connects nothing until it starts
    (close,) = service.on_stop
    http = close.__self__  # type: ignore[attr-defined]
    assert isinstance(http, Outgoing)
    await SmsNotifier(_gateway("twilio", server.url), http=http).deliver(PAGE, "+15550000001")
    client = http.client()
    for stop in service.on_stop:
        await stop()
    assert client.is_closed
