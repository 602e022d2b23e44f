"""A real SMTP server (aiosmtpd) on a free port, in a thread of the test process, that can be told to refuse.

It accepts by default; per recipient it can answer RCPT with given replies in turn (`451 ...` a
temporary refusal, `550 ...` a permanent one), and it can drop the connection during DATA.
"""

import asyncio
import email
import email.policy
import threading
from collections import defaultdict
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from tests.support.server import free_port


class _Handler:
    def __init__(self, sink: "SmtpSink") -> None:
        self._sink = sink

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:  # noqa: N802, ARG002 - aiosmtpd's hook
        replies = self._sink.replies.get(address)
        if replies:
            reply = replies.pop(0)
            if not reply.startswith("2"):
                return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802, ARG002 - aiosmtpd's hook
        if self._sink.drops > 0:
            self._sink.drops -= 1
            server.transport.close()
            return "421 closing"
        if self._sink.delay:
            await asyncio.sleep(self._sink.delay)  # a slow server: the client waits for the answer
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self._sink.lock:
            self._sink.received.append((list(envelope.rcpt_tos), message))
            self._sink.raw[message["Message-ID"]] = envelope.content
        return "250 Message accepted for delivery"


class SmtpSink:
    """The server, what it received (recipients and parsed message), and what it is told to refuse."""

    def __init__(self, *, smtputf8: bool = True) -> None:
        self.port = free_port()
        self.url = f"smtp://127.0.0.1:{self.port}"
        self.received: list[tuple[list[str], EmailMessage]] = []
        self.raw: dict[str, bytes] = {}  # each message as it came, by Message-ID
        self.replies: dict[str, list[str]] = defaultdict(list)
        self.drops = 0
        self.delay = 0.0
        self.lock = threading.Lock()
        self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port, enable_SMTPUTF8=smtputf8)

    def start(self) -> "SmtpSink":
        """Listen."""
        self._controller.start()
        return self

    def stop(self) -> None:
        """Stop listening."""
        self._controller.stop()

    def messages_to(self, address: str) -> list[EmailMessage]:
        """The messages received for this recipient, in order."""
        with self.lock:
            return [message for recipients, message in self.received if address in recipients]
