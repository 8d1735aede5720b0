"""A local SMTP server that keeps what it receives: the platform's mail in ``pss dev``
(written to ``.run/mail/``) and in the tests (read back from memory). Real SMTP, so the
services send exactly as they would to the authority's relay."""

from __future__ import annotations

import email
import email.policy
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from pss_dev.local import free_port


@dataclass(frozen=True)
class ReceivedMail:
    to: str
    subject: str
    body: str


class Mailbox:
    def __init__(self, directory: Path | None = None, *, port: int | None = None) -> None:
        self.messages: list[ReceivedMail] = []
        self.directory = directory
        self._lock = threading.Lock()
        self.port = port or free_port()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    def start(self) -> Mailbox:
        if self.directory:
            self.directory.mkdir(parents=True, exist_ok=True)
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        body = parsed.get_body(preferencelist=("plain",))
        mail = ReceivedMail(
            to=", ".join(envelope.rcpt_tos),
            subject=str(parsed["subject"]),
            body=body.get_content() if body is not None else "",  # type: ignore[attr-defined]
        )
        with self._lock:
            self.messages.append(mail)
            if self.directory:
                n = len(list(self.directory.glob("*.txt"))) + 1
                (self.directory / f"{n:04d}.txt").write_text(
                    f"To: {mail.to}\nSubject: {mail.subject}\n\n{mail.body}"
                )
        return "250 OK"

    def to(self, address: str) -> list[ReceivedMail]:
        with self._lock:
            return [m for m in self.messages if address in m.to]
