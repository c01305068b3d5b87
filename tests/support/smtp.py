"""A real SMTP server on loopback (aiosmtpd) that keeps what it accepts, for tests that
follow a message out of the outbox (`authz notify deliver`)."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage

from aiosmtpd.controller import Controller

from tests.integration.server import free_port


class Mailbox:
    """aiosmtpd handler: every accepted message, recorded before the 250 goes out (so
    once the sender returns, the message is here: nothing to wait for)."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address in str(m["To"])]


@contextmanager
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    """(mailbox, port) of a running SMTP server on 127.0.0.1."""
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield mailbox, controller.port
    finally:
        controller.stop()
