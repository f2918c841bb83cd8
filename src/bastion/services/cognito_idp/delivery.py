"""Delivering one-time codes and temporary passwords: SMTP for real deployments, an outbox for developers.

* ``SmtpSender`` sends e-mail through a configured mail server (stdlib ``smtplib`` in a worker thread;
  STARTTLS, implicit TLS or plain, optional login).
* ``OutboxSender`` keeps the code in the store, sealed with the master key, and logs one line saying that
  a code is waiting (never the code). ``bastion codes`` lists and opens them. It is the default, so a
  developer can finish a sign-up on a laptop without a mail server.
* ``RoutedSender`` picks a sender per medium (Bastion sends no SMS: text messages go to the outbox).

A sender raises ``DeliveryError`` when the message could not be handed over; the service reports
CodeDeliveryFailureException.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Literal, Protocol

from bastion.clock import Clock
from bastion.sealing import Sealer
from bastion.storage.cognito_idp import CognitoIdpRepository, OutboxMessage

log = logging.getLogger("bastion.cognito_idp.delivery")

OUTBOX_PURPOSE = b"bastion/cognito-idp/outbox/v1"
SmtpSecurity = Literal["starttls", "tls", "none"]


class DeliveryError(Exception):
    """The message could not be handed to its delivery channel."""


@dataclass(frozen=True, slots=True)
class CodeMessage:
    pool_id: str
    username: str
    kind: str  # SIGN_UP, FORGOT_PASSWORD, VERIFY_ATTRIBUTE, INVITATION
    medium: str  # EMAIL or SMS
    destination: str
    subject: str
    expires: datetime
    secret: str = field(repr=False)  # the code or temporary password
    body: str = field(repr=False)  # the rendered text, which contains the secret
    from_address: str | None = None  # the pool's EmailConfiguration.From, if set


class CodeSender(Protocol):
    async def send(self, message: CodeMessage) -> None: ...


def mask_destination(medium: str, destination: str) -> str:
    """The Destination of CodeDeliveryDetails: ``a***@e***`` or ``+*******0100``."""
    if medium == "EMAIL":
        local, _, domain = destination.partition("@")
        return f"{local[:1]}***@{domain[:1]}***"
    digits = destination[-4:]
    return "+" + "*" * max(len(destination) - 5, 0) + digits


class OutboxSender:
    def __init__(self, repo: CognitoIdpRepository, sealer: Sealer, clock: Clock) -> None:
        self._repo = repo
        self._sealer = sealer
        self._clock = clock

    async def send(self, message: CodeMessage) -> None:
        await self._repo.add_outbox_message(
            OutboxMessage(
                pool_id=message.pool_id,
                username=message.username,
                kind=message.kind,
                medium=message.medium,
                destination=message.destination,
                sealed_secret=self._sealer.seal(message.secret.encode(), purpose=OUTBOX_PURPOSE),
                created=self._clock.now(),
                expires=message.expires,
            )
        )
        log.info(
            "a %s code for user %s of user pool %s is waiting in the outbox (run `bastion codes`)",
            message.kind,
            message.username,
            message.pool_id,
        )


def reveal(sealer: Sealer, message: OutboxMessage) -> str:
    """The code of an outbox message, in clear (for ``bastion codes`` and the admin listing only)."""
    return sealer.unseal(message.sealed_secret, purpose=OUTBOX_PURPOSE).decode()


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """A code waiting in the development outbox, opened."""

    seq: int
    created: datetime
    expires: datetime
    pool_id: str
    username: str
    kind: str
    medium: str
    destination: str
    code: str = field(repr=False)


async def read_outbox(
    repo: CognitoIdpRepository, sealer: Sealer, pool_id: str | None, limit: int
) -> list[OutboxEntry]:
    """The newest ``limit`` outbox messages (of one pool, or all), opened."""
    return [
        OutboxEntry(
            seq=m.seq or 0,
            created=m.created,
            expires=m.expires,
            pool_id=m.pool_id,
            username=m.username,
            kind=m.kind,
            medium=m.medium,
            destination=m.destination,
            code=reveal(sealer, m),
        )
        for m in await repo.list_outbox(pool_id, limit)
    ]


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    host: str
    port: int
    sender: str  # the From address when the pool names none
    security: SmtpSecurity = "starttls"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout_seconds: float = 15.0
    # Certificates to trust for STARTTLS / TLS; None means the system's default trust store.
    tls_context: ssl.SSLContext | None = field(default=None, repr=False, compare=False)


class SmtpSender:
    def __init__(self, config: SmtpConfig) -> None:
        self._config = config

    def compose(self, message: CodeMessage) -> EmailMessage:
        mail = EmailMessage()
        mail["From"] = message.from_address or self._config.sender
        mail["To"] = message.destination
        mail["Subject"] = message.subject
        mail["Date"] = formatdate(localtime=False, usegmt=True)
        mail["Message-ID"] = make_msgid(domain=self._config.sender.rpartition("@")[2] or None)
        mail.set_content(message.body)
        return mail

    async def send(self, message: CodeMessage) -> None:
        if message.medium != "EMAIL":
            raise DeliveryError("the SMTP sender delivers e-mail only")
        mail = self.compose(message)
        try:
            await asyncio.to_thread(self._send_blocking, mail)
        except (smtplib.SMTPException, OSError) as exc:
            # The exception text can name the server but never holds the message body.
            log.warning("could not send a %s e-mail for pool %s: %s", message.kind, message.pool_id, exc)
            raise DeliveryError(str(exc)) from exc
        log.info(
            "sent a %s e-mail for user %s of user pool %s", message.kind, message.username, message.pool_id
        )

    def _send_blocking(self, mail: EmailMessage) -> None:
        config = self._config
        context = config.tls_context or ssl.create_default_context()
        smtp: smtplib.SMTP
        if config.security == "tls":
            smtp = smtplib.SMTP_SSL(config.host, config.port, timeout=config.timeout_seconds, context=context)
        else:
            smtp = smtplib.SMTP(config.host, config.port, timeout=config.timeout_seconds)
        with smtp:
            if config.security == "starttls":
                smtp.starttls(context=context)
            if config.username:
                smtp.login(config.username, config.password or "")
            smtp.send_message(mail)


class RoutedSender:
    """E-mail to one sender, text messages to another."""

    def __init__(self, email: CodeSender, sms: CodeSender) -> None:
        self._email = email
        self._sms = sms

    async def send(self, message: CodeMessage) -> None:
        await (self._email if message.medium == "EMAIL" else self._sms).send(message)
