"""Code delivery: SMTP against a real SMTP server (aiosmtpd: plain, STARTTLS with login, implicit TLS),
the development outbox, routing by medium, masking, and that codes never reach the logs."""

from __future__ import annotations

import dataclasses
import ipaddress
import logging
import os
import socket
import ssl
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from bastion.sealing import Sealer
from bastion.services.cognito_idp.delivery import (
    CodeMessage,
    DeliveryError,
    OutboxSender,
    RoutedSender,
    SmtpConfig,
    SmtpSender,
    mask_destination,
    read_outbox,
)
from bastion.services.cognito_idp.settings import PoolSettings
from bastion.storage.cognito_idp import UserPoolRecord
from bastion.storage.memory import MemoryStore
from tests.unit.services.cognito_idp_fixtures import ManualClock

CODE = "493817"
POOL = "eu-west-1_Deliver01"


def _message(medium: str = "EMAIL", destination: str = "zoe@example.com") -> CodeMessage:
    return CodeMessage(
        pool_id=POOL,
        username="zoe",
        kind="SIGN_UP",
        medium=medium,
        destination=destination,
        subject="Your verification code",
        expires=datetime(2030, 1, 1, tzinfo=UTC),
        secret=CODE,
        body=f"Your verification code is {CODE}. ",
    )


class Inbox:
    def __init__(self) -> None:
        self.mail: list[tuple[str, list[str], Message]] = []

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        self.mail.append((envelope.mail_from, list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
        return "250 Message accepted for delivery"


def _body(mail: Message) -> str:
    payload = mail.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()


def _bastion_logs(caplog: pytest.LogCaptureFixture) -> str:
    """What Bastion logged (the test SMTP server logs whole messages at DEBUG; that is not ours)."""
    return "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("bastion"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("smtp-tls")
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


def _server_context(tls_files: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*tls_files)
    return context


def _trusting(tls_files: tuple[Path, Path]) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(tls_files[0]))


def _authenticator(_server: Any, _session: Any, _envelope: Any, mechanism: str, data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"mailer", b"s3cret")
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


async def test_smtp_sends_the_code_by_mail(
    smtp_server: tuple[Inbox, int], caplog: pytest.LogCaptureFixture
) -> None:
    inbox, port = smtp_server
    caplog.set_level(logging.DEBUG)
    sender = SmtpSender(SmtpConfig("127.0.0.1", port, "no-reply@bastion.test", security="none"))
    await sender.send(_message())
    [(mail_from, to, mail)] = inbox.mail
    assert mail_from == "no-reply@bastion.test" and to == ["zoe@example.com"]
    assert mail["Subject"] == "Your verification code" and mail["To"] == "zoe@example.com"
    assert CODE in _body(mail)
    assert CODE not in _bastion_logs(caplog)


async def test_pool_from_address_is_used(smtp_server: tuple[Inbox, int]) -> None:
    inbox, port = smtp_server
    sender = SmtpSender(SmtpConfig("127.0.0.1", port, "no-reply@bastion.test", security="none"))
    await sender.send(dataclasses.replace(_message(), from_address="pool@example.com"))
    assert inbox.mail[0][0] == "pool@example.com"


async def test_smtp_starttls_with_login(tls_files: tuple[Path, Path]) -> None:
    inbox, port = Inbox(), _free_port()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        tls_context=_server_context(tls_files),
        require_starttls=True,
        authenticator=_authenticator,
        auth_require_tls=True,
    )
    controller.start()
    try:
        good = SmtpConfig(
            "127.0.0.1",
            port,
            "no-reply@bastion.test",
            "starttls",
            "mailer",
            "s3cret",
            tls_context=_trusting(tls_files),
        )
        await SmtpSender(good).send(_message())
        assert len(inbox.mail) == 1
        bad_login = SmtpConfig(
            "127.0.0.1",
            port,
            "no-reply@bastion.test",
            "starttls",
            "mailer",
            "wrong",
            tls_context=_trusting(tls_files),
        )
        with pytest.raises(DeliveryError):
            await SmtpSender(bad_login).send(_message())
        untrusted = SmtpConfig("127.0.0.1", port, "no-reply@bastion.test", "starttls", "mailer", "s3cret")
        with pytest.raises(DeliveryError):  # the self-signed certificate is not trusted by default
            await SmtpSender(untrusted).send(_message())
        plain = SmtpConfig("127.0.0.1", port, "no-reply@bastion.test", "none")
        with pytest.raises(DeliveryError):  # the server requires STARTTLS
            await SmtpSender(plain).send(_message())
        assert len(inbox.mail) == 1
    finally:
        controller.stop()


async def test_smtp_implicit_tls(tls_files: tuple[Path, Path]) -> None:
    inbox, port = Inbox(), _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, ssl_context=_server_context(tls_files))
    controller.start()
    try:
        config = SmtpConfig(
            "127.0.0.1", port, "no-reply@bastion.test", "tls", tls_context=_trusting(tls_files)
        )
        await SmtpSender(config).send(_message())
        assert CODE in _body(inbox.mail[0][2])
    finally:
        controller.stop()


async def test_smtp_failures_become_delivery_errors() -> None:
    sender = SmtpSender(
        SmtpConfig("127.0.0.1", _free_port(), "no-reply@bastion.test", "none", timeout_seconds=2)
    )
    with pytest.raises(DeliveryError):
        await sender.send(_message())
    with pytest.raises(DeliveryError, match="e-mail only"):
        await sender.send(_message("SMS", "+15550100"))


async def test_outbox_keeps_codes_sealed_and_logs_no_code(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    store = MemoryStore()
    now = datetime(2030, 1, 1, tzinfo=UTC)
    await store.cognito_idp.create_pool(UserPoolRecord(POOL, "p", now, now, "{}"))
    sealer = Sealer(os.urandom(32))
    outbox = OutboxSender(store.cognito_idp, sealer, ManualClock(now))
    await outbox.send(_message())
    [stored] = await store.cognito_idp.list_outbox(POOL, 10)
    assert CODE.encode() not in stored.sealed_secret
    [entry] = await read_outbox(store.cognito_idp, sealer, None, 10)
    assert (entry.code, entry.username, entry.destination, entry.kind) == (
        CODE,
        "zoe",
        "zoe@example.com",
        "SIGN_UP",
    )
    assert CODE not in repr(entry)
    logged = _bastion_logs(caplog)
    assert "waiting in the outbox" in logged and CODE not in logged


async def test_routed_sender_sends_text_messages_to_the_outbox(smtp_server: tuple[Inbox, int]) -> None:
    inbox, port = smtp_server
    store = MemoryStore()
    now = datetime(2030, 1, 1, tzinfo=UTC)
    await store.cognito_idp.create_pool(UserPoolRecord(POOL, "p", now, now, "{}"))
    outbox = OutboxSender(store.cognito_idp, Sealer(os.urandom(32)), ManualClock(now))
    routed = RoutedSender(SmtpSender(SmtpConfig("127.0.0.1", port, "n@bastion.test", "none")), outbox)
    await routed.send(_message())
    await routed.send(_message("SMS", "+15550100"))
    assert len(inbox.mail) == 1
    assert [m.medium for m in await store.cognito_idp.list_outbox(None, 10)] == ["SMS"]


def test_destinations_are_masked() -> None:
    assert mask_destination("EMAIL", "jane.doe@example.com") == "j***@e***"
    assert mask_destination("SMS", "+15555550100") == "+*******0100"


def test_pool_settings_default_templates_hold_the_code_placeholder() -> None:
    templates = PoolSettings().templates
    assert "{####}" in templates.email_message and "{username}" in templates.invite_email_message
