"""The load generator's HTTP client: one kept HTTP/1.1 connection, a JSON body posted on it
and the answer read back, and nothing else.

In a client, the bench's load generator is not the platform, but it shares the platform's two
cores: with httpx it cost about 6 ms of CPU a referral at 50/s (a sixth of what the whole
platform did), and every millisecond of it was a millisecond a service waited for a core.
A referral's request is one POST on a kept connection; this is that, written out.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


class TransportError(Exception):
    """No answer: the connection could not be made, broke, or the answer was not HTTP. The
    request may or may not have reached the server (a retry carries the same idempotency key)."""


@dataclass(frozen=True)
class Response:
    status_code: int
    content: bytes

    def json(self) -> Any:
        return json.loads(self.content)

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")


class Connection:
    """One kept connection to one origin, one request at a time. A connection idle for
    ``keep_alive`` seconds is let go before it is used again (before the server closes it: a
    request written just as the server closed its end gets no answer)."""

    def __init__(self, *, timeout: float = 30.0, keep_alive: float = 2.5) -> None:
        self._timeout = timeout
        self._keep_alive = keep_alive
        self._origin: tuple[str, int] | None = None
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._last_used = 0.0
        self.opened = 0  # connections made over this one's life, for the tests

    async def post(self, url: str, *, json: Any, headers: dict[str, str] | None = None) -> Response:
        parts = urlsplit(url)
        host, port = parts.hostname or "127.0.0.1", parts.port or 80
        body = _dumps(json)
        head = [
            f"POST {parts.path or '/'}{'?' + parts.query if parts.query else ''} HTTP/1.1",
            f"Host: {parts.netloc}",
            "Content-Type: application/json",
            f"Content-Length: {len(body)}",
            *(f"{name}: {value}" for name, value in (headers or {}).items()),
        ]
        request = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body
        try:
            return await asyncio.wait_for(self._exchange((host, port), request), self._timeout)
        except TimeoutError as exc:  # before OSError, whose kind it is
            await self.aclose()
            raise TransportError("no answer in time") from exc
        except (OSError, EOFError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
            await self.aclose()
            raise TransportError(f"{type(exc).__name__}: {exc}") from exc
        except BaseException:
            # cancelled between the request and its answer: the answer may still come, and
            # the next request on this connection would read it as its own
            self._drop()
            raise

    async def _exchange(self, origin: tuple[str, int], request: bytes) -> Response:
        reader, writer = await self._connected(origin)
        writer.write(request)
        status_line, *header_lines = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status = int(status_line.split(" ", 2)[1])
        headers = {}
        for line in header_lines:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        if headers.get("transfer-encoding", "").lower() == "chunked":
            content = await _chunked(reader)
        else:
            content = await reader.readexactly(int(headers.get("content-length", "0")))
        self._last_used = time.monotonic()
        if headers.get("connection", "").lower() == "close":
            await self.aclose()
        return Response(status, content)

    async def _connected(self, origin: tuple[str, int]) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        reader, writer = self._reader, self._writer
        stale = (
            reader is None
            or writer is None
            or self._origin != origin
            or reader.at_eof()
            or writer.is_closing()
            or time.monotonic() - self._last_used > self._keep_alive
        )
        if stale or reader is None or writer is None:
            await self.aclose()
            reader, writer = await asyncio.open_connection(*origin)
            self._origin, self._reader, self._writer = origin, reader, writer
            self.opened += 1
        return reader, writer

    def _drop(self) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()

    async def aclose(self) -> None:
        writer = self._writer
        self._drop()
        if writer is not None:
            try:
                await writer.wait_closed()
            except OSError:
                pass  # already broken: it is closed either way


async def _chunked(reader: asyncio.StreamReader) -> bytes:
    content = bytearray()
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";", 1)[0], 16)
        if size == 0:
            while await reader.readuntil(b"\r\n") != b"\r\n":
                pass  # a trailer: nothing this client reads
            return bytes(content)
        content += await reader.readexactly(size)
        await reader.readexactly(2)


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()
