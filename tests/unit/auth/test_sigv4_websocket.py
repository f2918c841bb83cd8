"""MQTT-over-WebSocket presigned URLs: AWS IoT's unsigned session token, and generic presigners."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from unittest import mock
from urllib.parse import quote, urlsplit

import pytest
from botocore.auth import SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from bastion.auth.sigv4 import (
    EMPTY_SHA256,
    QueryTokenMode,
    SignatureClaim,
    SignatureDoesNotMatch,
    SignatureExpired,
    SigV4Error,
    parse_request_signature,
    presign_websocket_url,
    verify_signature,
)

SIGNED_AT = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
HOST = "abc123-ats.iot.us-east-1.amazonaws.com"
ACCESS_KEY = "ASIAEXAMPLEKEY123456"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
TOKEN = "SESSIONTOKEN/EXAMPLE+=="
UPGRADE_HEADERS = (
    ("Connection", "Upgrade"),
    ("Upgrade", "websocket"),
    ("Sec-WebSocket-Version", "13"),
    ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ("Sec-WebSocket-Protocol", "mqtt"),
)


def botocore_websocket_url(host: str = HOST, *, sign_token: bool, service: str = "iotdevicegateway") -> str:
    """Presign GET /mqtt with botocore. With ``sign_token=False`` the token is added afterwards, as the
    AWS IoT Device SDKs and aws-crt do; with ``True`` it is signed, as generic presigners do."""
    credentials = Credentials(ACCESS_KEY, SECRET, TOKEN if sign_token else None)
    request = AWSRequest(method="GET", url=f"https://{host}/mqtt")
    with mock.patch("botocore.auth.get_current_datetime", return_value=SIGNED_AT.replace(tzinfo=None)):
        SigV4QueryAuth(credentials, service, "us-east-1", expires=3600).add_auth(request)
    url: str = request.url
    if not sign_token:
        url += "&X-Amz-Security-Token=" + quote(TOKEN, safe="")
    return url.replace("https://", "wss://", 1)


def upgrade(
    url: str, now: datetime = SIGNED_AT, host_header: str | None = None, **options: Any
) -> SignatureClaim:
    parts = urlsplit(url)
    headers = (("Host", host_header or parts.netloc), *UPGRADE_HEADERS)
    claim = parse_request_signature("GET", parts.path, parts.query, headers)
    assert claim is not None
    verify_signature(claim, SECRET, "GET", parts.path, parts.query, headers, EMPTY_SHA256, now, **options)
    return claim


def test_token_appended_after_signing_verifies() -> None:
    url = botocore_websocket_url(sign_token=False)
    claim = upgrade(url)
    assert claim.security_token == TOKEN
    assert claim.signed_headers == ("host",)
    assert claim.expires == 3600
    upgrade(url, query_token_mode=QueryTokenMode.UNSIGNED)
    upgrade(url, query_token_mode=QueryTokenMode.UNSIGNED_THEN_SIGNED)
    with pytest.raises(SignatureDoesNotMatch):
        upgrade(url, query_token_mode=QueryTokenMode.SIGNED)


def test_generic_presigner_with_signed_token_is_tolerated() -> None:
    url = botocore_websocket_url(sign_token=True)
    upgrade(url)
    upgrade(url, query_token_mode=QueryTokenMode.SIGNED)
    with pytest.raises(SignatureDoesNotMatch):
        upgrade(url, query_token_mode=QueryTokenMode.UNSIGNED)


def test_iotdata_signing_name_follows_the_same_rule() -> None:
    upgrade(botocore_websocket_url(sign_token=False, service="iotdata"))
    upgrade(botocore_websocket_url(sign_token=True, service="iotdata"))


def test_other_services_sign_the_token() -> None:
    url = botocore_websocket_url(sign_token=False, service="execute-api")
    with pytest.raises(SignatureDoesNotMatch):
        upgrade(url)
    upgrade(url, query_token_mode=QueryTokenMode.UNSIGNED)


def test_every_signed_character_matters_but_the_appended_token_does_not() -> None:
    url = botocore_websocket_url(sign_token=False)
    parts = urlsplit(url)
    token_start = parts.query.index("&X-Amz-Security-Token=")
    survivors = []
    for index in range(token_start):
        query = parts.query[:index] + ("x" if parts.query[index] != "x" else "y") + parts.query[index + 1 :]
        try:
            upgrade(parts._replace(query=query).geturl())
        except SigV4Error:
            continue
        survivors.append(index)
    assert survivors == []
    # The token is outside the signature in this form; the caller binds it to the access key instead.
    claim = upgrade(url.replace("SESSIONTOKEN%2FEXAMPLE", "SESSIONTOKEN%2FEXAMPLF"))
    assert claim.security_token == "SESSIONTOKEN/EXAMPLF+=="
    with pytest.raises(SignatureDoesNotMatch):
        upgrade(url, host_header="abc124-ats.iot.us-east-1.amazonaws.com")
    with pytest.raises(SignatureDoesNotMatch):
        upgrade(url.replace("/mqtt?", "/mqtu?"))


def test_websocket_upgrade_headers_are_not_signed() -> None:
    url = botocore_websocket_url(sign_token=False)
    parts = urlsplit(url)
    headers = (("Host", HOST), ("Sec-WebSocket-Protocol", "mqttv3.1"), ("User-Agent", "aws-crt"))
    claim = parse_request_signature("GET", parts.path, parts.query, headers)
    assert claim is not None
    verify_signature(claim, SECRET, "GET", parts.path, parts.query, headers, EMPTY_SHA256, SIGNED_AT)


def test_presign_reproduces_the_device_sdk_url() -> None:
    # Computed independently with the aws-iot-device-sdk-js v1 algorithm for the same inputs.
    expected = (
        "wss://abc123-ats.iot.us-east-1.amazonaws.com/mqtt?X-Amz-Algorithm=AWS4-HMAC-SHA256"
        "&X-Amz-Credential=ASIAEXAMPLEKEY123456%2F20240102%2Fus-east-1%2Fiotdevicegateway%2Faws4_request"
        "&X-Amz-Date=20240102T030405Z&X-Amz-SignedHeaders=host"
        "&X-Amz-Signature=5d3598a3cbd6ae26154b96fc252609af940e2d893f11cc6884b4a74df28e64d9"
        "&X-Amz-Security-Token=SESSIONTOKEN%2FEXAMPLE%2B%3D%3D"
    )
    assert presign_websocket_url(HOST, "us-east-1", ACCESS_KEY, SECRET, TOKEN, SIGNED_AT) == expected


@pytest.mark.parametrize(
    ("host", "token", "service", "path"),
    [
        (HOST, TOKEN, "iotdevicegateway", "/mqtt"),
        (HOST, None, "iotdevicegateway", "/mqtt"),
        ("localhost:8443", TOKEN, "iotdevicegateway", "/mqtt"),
        ("bastion.example", TOKEN, "iotdata", "/mqtt/ws"),
    ],
)
def test_presigned_urls_verify(host: str, token: str | None, service: str, path: str) -> None:
    url = presign_websocket_url(
        host, "eu-west-1", ACCESS_KEY, SECRET, token, SIGNED_AT, service=service, path=path
    )
    claim = upgrade(url)
    assert (claim.region, claim.service, claim.security_token, claim.expires) == (
        "eu-west-1",
        service,
        token,
        None,
    )
    with pytest.raises(SignatureDoesNotMatch):
        upgrade(url, host_header=host + "x")


def test_presign_accepts_any_timezone_and_refuses_naive_times() -> None:
    later = SIGNED_AT.replace(hour=5).astimezone(timezone(timedelta(hours=2)))
    url = presign_websocket_url(HOST, "us-east-1", ACCESS_KEY, SECRET, None, later)
    assert "X-Amz-Date=20240102T050405Z" in url
    with pytest.raises(ValueError, match="timezone-aware"):
        presign_websocket_url(HOST, "us-east-1", ACCESS_KEY, SECRET, None, SIGNED_AT.replace(tzinfo=None))


def test_url_without_expires_lives_within_the_skew_window() -> None:
    url = presign_websocket_url(HOST, "us-east-1", ACCESS_KEY, SECRET, TOKEN, SIGNED_AT)
    upgrade(url, now=SIGNED_AT + timedelta(minutes=5))
    with pytest.raises(SignatureExpired):
        upgrade(url, now=SIGNED_AT + timedelta(minutes=5, seconds=1))
    # With X-Amz-Expires (botocore's presigner sets 3600) the URL lives that long.
    upgrade(botocore_websocket_url(sign_token=False), now=SIGNED_AT + timedelta(minutes=59))
