"""Bad requests get the AWS error of their protocol; none crashes or hangs the server."""

from __future__ import annotations

import http.client
import json
import urllib.parse
from datetime import timedelta
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from bastion.testing.server import ServerThread

from .conftest import REGION, ClientFactory, shift_client_clock


def _raw(
    server: ServerThread, method: str, path: str, body: bytes, headers: dict[str, str]
) -> tuple[int, dict[str, str], bytes]:
    url = urllib.parse.urlsplit(server.endpoint_url)
    conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def _signed(
    server: ServerThread, service: str, body: bytes, headers: dict[str, str], path: str = "/"
) -> tuple[int, dict[str, str], bytes]:
    key, secret = server.admin_keys
    request = AWSRequest(method="POST", url=server.endpoint_url + path, data=body, headers=headers)
    SigV4Auth(Credentials(key, secret), service, REGION).add_auth(request)
    return _raw(server, "POST", path, body, dict(request.headers.items()))


def _code(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    return exc.value.response["Error"]["Code"], exc.value.response["ResponseMetadata"]["HTTPStatusCode"]


def test_wrong_signature(server: ServerThread, client_for: ClientFactory) -> None:
    key, _ = server.admin_keys
    with pytest.raises(ClientError) as exc:
        client_for("iam", key, "x" * 40).list_roles()
    assert _code(exc) == ("SignatureDoesNotMatch", 403)
    assert "does not match the signature you provided" in exc.value.response["Error"]["Message"]


def test_unknown_access_key(client_for: ClientFactory) -> None:
    with pytest.raises(ClientError) as exc:
        client_for("sts", "AKIAUNKNOWNUNKNOWN00", "x" * 40).get_caller_identity()
    assert _code(exc) == ("InvalidClientTokenId", 403)
    assert exc.value.response["Error"]["Message"] == "The security token included in the request is invalid."


def test_forged_session_token(client_for: ClientFactory) -> None:
    with pytest.raises(ClientError) as exc:
        client_for("iam", "ASIAFORGEDFORGED0000", "x" * 40, "not-a-real-token").list_roles()
    assert _code(exc) == ("InvalidClientTokenId", 403)


def test_skewed_clock(
    server: ServerThread, client_for: ClientFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    key, secret = server.admin_keys
    shift_client_clock(monkeypatch, timedelta(minutes=-20))
    with pytest.raises(ClientError) as exc:
        client_for("iam", key, secret).list_roles()
    assert _code(exc) == ("SignatureDoesNotMatch", 403)
    assert exc.value.response["Error"]["Message"].startswith("Signature expired: ")


def test_missing_authentication(server: ServerThread) -> None:
    status, headers, body = _raw(
        server,
        "POST",
        "/",
        b"Action=ListRoles&Version=2010-05-08",
        {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    assert status == 403
    assert b"<Code>MissingAuthenticationToken</Code>" in body
    assert "x-amzn-requestid" in headers
    assert "date" in headers


def test_unknown_operation_query(server: ServerThread) -> None:
    status, _, body = _signed(
        server,
        "iam",
        b"Action=NoSuchThing&Version=2010-05-08",
        {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    assert status == 400
    assert b"<Code>InvalidAction</Code>" in body


def test_malformed_query_input_is_a_validation_error(server: ServerThread) -> None:
    status, _, body = _signed(
        server,
        "iam",
        b"Action=CreateRole&Version=2010-05-08&RoleName=bad%20name!&AssumeRolePolicyDocument=%7B%7D",
        {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    assert status == 400
    assert b"<Code>ValidationError</Code>" in body
    assert b"failed to satisfy constraint" in body


def test_oversized_body(server: ServerThread) -> None:
    body = b"Action=ListRoles&Version=2010-05-08&X=" + b"a" * (2 * 1024 * 1024)
    status, _, payload = _raw(
        server, "POST", "/", body, {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    )
    assert status == 413
    assert b"RequestEntityTooLarge" in payload


def test_garbage_bodies_never_break_the_server(server: ServerThread, admin: Any) -> None:
    garbage = [b"\x00\xff" * 50, b"Action=%ZZ&Version=2010-05-08", b"&&&===", json.dumps({"a": 1}).encode()]
    for body in garbage:
        status, _, _ = _signed(server, "iam", body, {"Content-Type": "application/x-www-form-urlencoded"})
        assert 400 <= status < 500
    # The server still answers normally afterwards.
    assert admin("sts").get_caller_identity()["Account"]


def test_cors_preflight(server: ServerThread) -> None:
    status, headers, _ = _raw(
        server,
        "OPTIONS",
        "/",
        b"",
        {
            "Origin": "http://localhost:3000",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "x-amz-target,content-type",
        },
    )
    assert status == 200
    assert headers["access-control-allow-origin"] == "http://localhost:3000"
    assert "x-amz-target" in headers["access-control-allow-headers"]
    assert "x-amzn-requestid" in headers["access-control-expose-headers"]
