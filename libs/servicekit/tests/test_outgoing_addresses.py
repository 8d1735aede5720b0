"""A service's log never holds the address of a request it made to others: a webhook's
address is a person's contact route (sealed at rest), often with its secret in the path."""

from __future__ import annotations

import io
import logging
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from servicekit.telemetry import _setup_logging

SECRET = "T0000/B0000/a-webhooks-own-secret"


class Hook(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def hook() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture
def service_log(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    written = io.StringIO()
    monkeypatch.setattr(sys, "stderr", written)
    _setup_logging("oncall", "INFO", as_json=True)
    yield written
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.getLogger("httpx").setLevel(logging.NOTSET)


async def test_a_request_to_a_webhook_leaves_its_address_out_of_the_log(hook: str, service_log: io.StringIO):
    async with httpx.AsyncClient() as client:
        answer = await client.post(f"{hook}/services/{SECRET}", json={"kind": "page"})
    assert answer.status_code == 204
    logging.getLogger("oncall.delivery").info("delivered")  # the log is written to
    assert "delivered" in service_log.getvalue()
    assert SECRET not in service_log.getvalue()
