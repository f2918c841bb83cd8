"""CONNECT credentials: the presigned URL as password, the WebSocket principal, the anonymous principal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bastion.auth.sigv4 import presign_websocket_url
from bastion.broker.authentication import (
    AuthenticationFailed,
    Authenticator,
    AuthMethod,
    anonymous_principal,
    principal_identifier,
)
from bastion.mqtt import ReasonCode
from bastion.services.identity import CredentialError, PrincipalKind, ResolvedCredentials, root_principal

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
KEY, SECRET = "AKIDEXAMPLE", "secret/key"


class Clock:
    def now(self) -> datetime:
        return NOW


class Resolver:
    async def resolve(self, access_key_id: str, session_token: str | None) -> ResolvedCredentials:
        if access_key_id != KEY:
            raise CredentialError(CredentialError.UNKNOWN_KEY)
        return ResolvedCredentials(SECRET, root_principal("123456789012", KEY))


def authenticator(anonymous: bool = False) -> Authenticator:
    anon = (
        anonymous_principal("123456789012", ['{"Version":"2012-10-17","Statement":[]}'])
        if anonymous
        else None
    )
    return Authenticator(Resolver(), Clock(), region="us-east-1", anonymous=anon)  # type: ignore[arg-type]


def url(
    key: str = KEY, secret: str = SECRET, when: datetime = NOW, service: str = "iotdevicegateway"
) -> bytes:
    return presign_websocket_url(
        "broker.local:443", "us-east-1", key, secret, None, when, service=service
    ).encode()


async def test_sigv4_password() -> None:
    done = await authenticator().for_connect("sigv4", url(), None)
    assert done.method is AuthMethod.SIGV4_PASSWORD
    assert done.principal.access_key_id == KEY
    assert (await authenticator().for_connect("sigv4", url(service="iotdata"), None)).principal.is_root


@pytest.mark.parametrize(
    "password",
    [
        url(secret="wrong"),
        url(key="AKIDUNKNOWN"),
        url(when=NOW - timedelta(minutes=6)),
        url(service="iot"),
        b"not a url",
        b"\xff\xfe",
        None,
    ],
)
async def test_bad_passwords(password: bytes | None) -> None:
    with pytest.raises(AuthenticationFailed) as caught:
        await authenticator(anonymous=True).for_connect("sigv4", password, None)
    assert caught.value.reason_code == ReasonCode.BAD_USER_NAME_OR_PASSWORD


async def test_no_credentials_refused_unless_anonymous_is_configured() -> None:
    with pytest.raises(AuthenticationFailed) as caught:
        await authenticator().for_connect(None, None, None)
    assert caught.value.reason_code == ReasonCode.NOT_AUTHORIZED
    done = await authenticator(anonymous=True).for_connect("someone", b"whatever", None)
    assert done.method is AuthMethod.ANONYMOUS
    assert done.principal.kind is PrincipalKind.ANONYMOUS
    assert principal_identifier(done.principal) == "anonymous"


async def test_websocket_principal_wins_over_connect_credentials() -> None:
    principal = root_principal("123456789012", KEY)
    done = await authenticator().for_connect("?SDK=JavaScript&Version=2", b"", principal)
    assert done.method is AuthMethod.SIGV4_WEBSOCKET and done.principal is principal
