"""The load generator's HTTP client, against a real server on a local socket: a request and its
answer, the connection kept between requests and let go when idle, and a broken or refused
connection said as a transport error (the submitter's cue to retry with the same key)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from pss_testkit.http1 import Connection, TransportError

Answer = Callable[[bytes, bytes], bytes]


def json_answer(status: int, value: object) -> Answer:
    def answer(head: bytes, body: bytes) -> bytes:
        content = json.dumps({"echo": json.loads(body), "head": head.decode()}).encode()
        if value is not None:
            content = json.dumps(value).encode()
        return b"HTTP/1.1 %d X\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s" % (
            status,
            len(content),
            content,
        )

    return answer


class Server:
    """Answers each request with ``answer(head, body)``, the n-th (from 1) ``late[n]`` seconds
    late; counts the connections it accepted."""

    def __init__(
        self, answer: Answer, *, close_after_each: bool = False, late: dict[int, float] | None = None
    ) -> None:
        self.answer = answer
        self.close_after_each = close_after_each
        self.late = late or {}
        self.connections = 0
        self.requests = 0
        self.port = 0

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length")
                )
                body = await reader.readexactly(length)
                self.requests += 1
                await asyncio.sleep(self.late.get(self.requests, 0))
                writer.write(self.answer(head, body))
                await writer.drain()
                if self.close_after_each:
                    break
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        writer.close()


@pytest.fixture
async def serve() -> AsyncIterator[Callable[..., asyncio.Future[Server]]]:
    servers: list[asyncio.Server] = []

    async def start(answer: Answer, **options: Any) -> Server:
        server = Server(answer, **options)
        listening = await asyncio.start_server(server._handle, "127.0.0.1", 0)
        server.port = listening.sockets[0].getsockname()[1]
        servers.append(listening)
        return server

    yield start  # type: ignore[misc]
    for listening in servers:
        listening.close()


async def test_a_post_sends_its_json_and_headers_and_reads_the_status_and_body(serve):
    server = await serve(json_answer(202, None))
    connection = Connection()
    response = await connection.post(
        f"http://127.0.0.1:{server.port}/referrals", json={"site_id": "s-1"}, headers={"Idempotency-Key": "k"}
    )
    assert response.status_code == 202
    sent = response.json()
    assert sent["echo"] == {"site_id": "s-1"}
    assert sent["head"].startswith("POST /referrals HTTP/1.1\r\n")
    assert "Idempotency-Key: k" in sent["head"] and "Content-Type: application/json" in sent["head"]
    await connection.aclose()


async def test_requests_one_after_another_share_one_connection(serve):
    server = await serve(json_answer(202, {"ok": True}))
    connection = Connection()
    for _ in range(3):
        assert (await connection.post(f"http://127.0.0.1:{server.port}/r", json={})).status_code == 202
    assert server.connections == 1 and connection.opened == 1
    await connection.aclose()


async def test_a_connection_idle_past_its_keep_alive_is_let_go_before_the_next_request(serve):
    server = await serve(json_answer(202, {}))
    connection = Connection(keep_alive=0.05)
    await connection.post(f"http://127.0.0.1:{server.port}/r", json={})
    await asyncio.sleep(0.1)
    await connection.post(f"http://127.0.0.1:{server.port}/r", json={})
    assert server.connections == 2
    await connection.aclose()


async def test_a_connection_the_server_closed_is_made_again_for_the_next_request(serve):
    server = await serve(json_answer(202, {}), close_after_each=True)
    connection = Connection()
    await connection.post(f"http://127.0.0.1:{server.port}/r", json={})
    await asyncio.sleep(0.05)  # the server's close reaches the client
    assert (await connection.post(f"http://127.0.0.1:{server.port}/r", json={})).status_code == 202
    assert server.connections == 2
    await connection.aclose()


async def test_an_error_status_is_an_answer_with_its_text(serve):
    server = await serve(json_answer(422, {"detail": "site_id is required"}))
    response = await Connection().post(f"http://127.0.0.1:{server.port}/r", json={})
    assert response.status_code == 422 and "site_id is required" in response.text


async def test_a_chunked_answer_is_read_whole(serve):
    def chunked(head: bytes, body: bytes) -> bytes:
        return b'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n7\r\n{"a": 1\r\n1\r\n}\r\n0\r\n\r\n'

    server = await serve(chunked)
    connection = Connection()
    assert (await connection.post(f"http://127.0.0.1:{server.port}/r", json={})).json() == {"a": 1}
    # the connection is still in step: a second answer reads as well
    assert (await connection.post(f"http://127.0.0.1:{server.port}/r", json={})).json() == {"a": 1}
    assert server.connections == 1


async def test_a_connection_closed_without_an_answer_is_a_transport_error_and_the_next_request_reconnects(
    serve,
):
    calls = 0

    def hang_up_first(head: bytes, body: bytes) -> bytes:
        nonlocal calls
        calls += 1
        return b"" if calls == 1 else json_answer(202, {})(head, body)

    server = await serve(hang_up_first, close_after_each=True)
    connection = Connection()
    with pytest.raises(TransportError):
        await connection.post(f"http://127.0.0.1:{server.port}/r", json={})
    assert (await connection.post(f"http://127.0.0.1:{server.port}/r", json={})).status_code == 202
    assert server.connections == 2


async def test_a_refused_connection_is_a_transport_error(serve):
    server = await serve(json_answer(202, {}))
    port = server.port
    probe = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    unused = probe.sockets[0].getsockname()[1]
    probe.close()
    await probe.wait_closed()
    assert unused != port
    with pytest.raises(TransportError):
        await Connection().post(f"http://127.0.0.1:{unused}/r", json={})


async def test_no_answer_in_time_is_a_transport_error(serve):
    server = await serve(lambda head, body: b"")  # reads the request, never answers
    with pytest.raises(TransportError, match="in time"):
        await Connection(timeout=0.1).post(f"http://127.0.0.1:{server.port}/r", json={})


async def test_a_request_cancelled_before_its_answer_leaves_no_answer_for_the_next_request(serve):
    def echo(head: bytes, body: bytes) -> bytes:  # each answer is its own request's body
        return b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body)

    server = await serve(echo, late={2: 0.2})
    url = f"http://127.0.0.1:{server.port}/r"
    connection = Connection()
    assert (await connection.post(url, json={"n": 1})).json() == {"n": 1}
    second = asyncio.create_task(connection.post(url, json={"n": 2}))
    await asyncio.sleep(0.05)
    second.cancel()
    with pytest.raises(asyncio.CancelledError):
        await second
    assert (await connection.post(url, json={"n": 3})).json() == {"n": 3}
    await connection.aclose()
