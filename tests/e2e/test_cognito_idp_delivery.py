"""Code delivery end to end: a server configured with an SMTP server (a real one, aiosmtpd, started here)
mails sign-up codes and invitations; without one, codes wait in the outbox and `bastion codes` shows them."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message
from typing import Any

import boto3
import pytest
from aiosmtpd.controller import Controller
from botocore import UNSIGNED
from botocore.config import Config

from bastion.config import PORT_OFF, Settings
from bastion.testing.server import ServerThread, running_server

from .conftest import ACCOUNT, NO_RETRY, REGION

PASSWORD = "Correct-Horse-9!"


class Inbox:
    def __init__(self) -> None:
        self.mail: list[Message] = []

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        self.mail.append(message_from_bytes(envelope.content))
        return "250 OK"

    def body_for(self, address: str) -> str:
        for mail in reversed(self.mail):
            if mail["To"] == address:
                payload = mail.get_payload(decode=True)
                assert isinstance(payload, bytes)
                return payload.decode()
        raise AssertionError(f"no mail to {address}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def inbox() -> Iterator[tuple[Inbox, int]]:
    box, port = Inbox(), _free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


@pytest.fixture(scope="module")
def mail_server(tmp_path_factory: pytest.TempPathFactory, inbox: tuple[Inbox, int]) -> Iterator[ServerThread]:
    settings = Settings(
        api_port=0,
        mqtt_port=PORT_OFF,
        mqtt_tls_port=PORT_OFF,
        api_tls_port=PORT_OFF,
        data_dir=tmp_path_factory.mktemp("bastion-smtp"),
        region=REGION,
        account_id=ACCOUNT,
        smtp_host="127.0.0.1",
        smtp_port=inbox[1],
        smtp_from="no-reply@bastion.test",
        smtp_security="none",
    )
    with running_server(settings) as thread:
        yield thread


def _clients(server: ServerThread) -> tuple[Any, Any]:
    key, secret = server.admin_keys
    admin = boto3.client(
        "cognito-idp",
        endpoint_url=server.endpoint_url,
        region_name=REGION,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=NO_RETRY,
    )
    public = boto3.session.Session(region_name=REGION).client(
        "cognito-idp", endpoint_url=server.endpoint_url, config=Config(signature_version=UNSIGNED)
    )
    return admin, public


def _pool(admin: Any) -> tuple[str, str]:
    pool_id = admin.create_user_pool(
        PoolName="mail",
        AutoVerifiedAttributes=["email"],
        VerificationMessageTemplate={"EmailSubject": "Welcome aboard", "EmailMessage": "Code: {####}"},
    )["UserPool"]["Id"]
    client_id = admin.create_user_pool_client(
        UserPoolId=pool_id, ClientName="app", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"]
    )["UserPoolClient"]["ClientId"]
    return pool_id, client_id


def test_sign_up_code_arrives_by_mail(mail_server: ServerThread, inbox: tuple[Inbox, int]) -> None:
    box, _ = inbox
    admin, public = _clients(mail_server)
    pool_id, client_id = _pool(admin)
    email = f"{uuid.uuid4().hex[:8]}@example.com"
    public.sign_up(
        ClientId=client_id,
        Username="mia",
        Password=PASSWORD,
        UserAttributes=[{"Name": "email", "Value": email}],
    )
    mail = next(m for m in box.mail if m["To"] == email)
    assert mail["Subject"] == "Welcome aboard" and mail["From"] == "no-reply@bastion.test"
    match = re.fullmatch(r"Code: (\d{6})\s*", box.body_for(email))
    assert match is not None
    public.confirm_sign_up(ClientId=client_id, Username="mia", ConfirmationCode=match.group(1))
    assert admin.admin_get_user(UserPoolId=pool_id, Username="mia")["UserStatus"] == "CONFIRMED"
    # Nothing was kept in the outbox: the mail server took it.
    assert mail_server.call(mail_server.server.services.cognito_idp.outbox(pool_id)) == []


def test_invitation_carries_the_temporary_password(
    mail_server: ServerThread, inbox: tuple[Inbox, int]
) -> None:
    box, _ = inbox
    admin, public = _clients(mail_server)
    pool_id, client_id = _pool(admin)
    email = f"{uuid.uuid4().hex[:8]}@example.com"
    admin.admin_create_user(
        UserPoolId=pool_id,
        Username="noah",
        UserAttributes=[{"Name": "email", "Value": email}],
        DesiredDeliveryMediums=["EMAIL"],
    )
    body = box.body_for(email)
    match = re.search(r"Your username is noah and temporary password is (\S+)\. ", body)
    assert match is not None
    challenge = public.initiate_auth(
        ClientId=client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "noah", "PASSWORD": match.group(1)},
    )
    assert challenge["ChallengeName"] == "NEW_PASSWORD_REQUIRED"


def test_codes_wait_in_the_outbox_and_the_cli_shows_them(server: ServerThread, admin: Any) -> None:
    idp = admin("cognito-idp")
    _, public = _clients(server)
    pool_id, client_id = _pool(idp)
    email = f"{uuid.uuid4().hex[:8]}@example.com"
    public.sign_up(
        ClientId=client_id,
        Username="olive",
        Password=PASSWORD,
        UserAttributes=[{"Name": "email", "Value": email}],
    )
    data_dir = server.server.settings.data_dir
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bastion.cli.main",
            "codes",
            "--data-dir",
            str(data_dir),
            "--pool",
            pool_id,
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr
    [entry] = [json.loads(line) for line in done.stdout.splitlines()]
    assert (entry["username"], entry["destination"], entry["kind"], entry["expired"]) == (
        "olive",
        email,
        "SIGN_UP",
        False,
    )
    public.confirm_sign_up(ClientId=client_id, Username="olive", ConfirmationCode=entry["code"])
    table = subprocess.run(
        [sys.executable, "-m", "bastion.cli.main", "codes", "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert table.returncode == 0 and entry["code"] in table.stdout and "CODE" in table.stdout
    missing = subprocess.run(
        [sys.executable, "-m", "bastion.cli.main", "codes", "--data-dir", str(data_dir / "nowhere")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert missing.returncode == 1 and "no master key" in missing.stderr
