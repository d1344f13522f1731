"""A real SMTP server on 127.0.0.1 for the TUI tests (aiosmtpd), with refusals and a gate that
holds every message until the test releases it (a slow mail server, without sleeping)."""

from __future__ import annotations

import asyncio
import email
import threading
from email.message import Message
from types import TracebackType
from typing import Any

from aiosmtpd.controller import Controller

from tests.mail.conftest import free_port

__all__ = ["Mailbox", "SmtpServer", "free_port"]

GATE_LIMIT = 20.0  # seconds a held message waits at most (bounded, never forever)


class Mailbox:
    """aiosmtpd handler: keeps what it receives; refuses some recipients with 550."""

    def __init__(self, refuse: set[str] | None = None) -> None:
        self.refuse = {address.lower() for address in refuse or set()}
        self.messages: list[Message] = []
        self.received = threading.Event()
        self.gate: threading.Event | None = None  # set → messages wait until it is set
        self.waiting = threading.Event()  # a message is being held at the gate

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        if address.lower() in self.refuse:
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.gate is not None:
            self.waiting.set()
            await asyncio.get_running_loop().run_in_executor(None, self.gate.wait, GATE_LIMIT)
        self.messages.append(email.message_from_bytes(envelope.original_content))
        self.received.set()
        return "250 Message accepted for delivery"


class SmtpServer:
    """`with SmtpServer() as server:` → a server on 127.0.0.1:server.port."""

    def __init__(self, refuse: set[str] | None = None) -> None:
        self.mailbox = Mailbox(refuse)
        self.port = free_port()
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.mailbox.gate is not None:
            self.mailbox.gate.set()
        self.controller.stop()
