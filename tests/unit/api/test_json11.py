"""awsJson1_1 bodies: types, nulls, malformed input, and the exact success response."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from enum import Enum

import pytest

from bastion.api.errors import AwsError
from bastion.api.protocols import HttpRequest, parse_request, serialize_response

TARGET = "AWSCognitoIdentityProviderService."


def _call(operation: str, body: bytes) -> tuple[str, dict[str, object]]:
    request = HttpRequest(
        "POST",
        "/",
        "",
        [("X-Amz-Target", TARGET + operation), ("Content-Type", "application/x-amz-json-1.1")],
        body,
    )
    return parse_request("cognito-idp", request)


def test_types_nulls_and_unknown_members() -> None:
    body = json.dumps({"UserPoolId": "us-east-1_abc", "Limit": 10.0, "Filter": None, "Unknown": [1]}).encode()
    assert _call("ListUsers", body) == ("ListUsers", {"UserPoolId": "us-east-1_abc", "Limit": 10})


def test_empty_body_is_an_empty_object() -> None:
    with pytest.raises(AwsError) as raised:
        _call("DescribeUserPool", b"")
    assert raised.value.code == "InvalidParameterException"  # parsed as {}, then UserPoolId is missing


@pytest.mark.parametrize(
    "body",
    [
        b"{",
        b"[]",
        b'"text"',
        b"\xff{}",
        b'{"UserPoolId": 5}',
        b'{"UserPoolId": "p_1", "Limit": "10"}',
        b'{"UserPoolId": "p_1", "Limit": 1.5}',
        b'{"UserPoolId": "p_1", "Limit": true}',
        b'{"UserPoolId": "p_1", "Limit": 3000000000}',
        b'{"UserPoolId": "p_1", "AttributesToGet": "email"}',
        b'{"UserPoolId": "p_1", "AttributesToGet": [1]}',
        b"[" * 100_000,
    ],
)
def test_malformed_bodies_are_serialization_exceptions(body: bytes) -> None:
    with pytest.raises(AwsError) as raised:
        _call("ListUsers", body)
    assert (raised.value.code, raised.value.status) == ("SerializationException", 400)


def test_blob_members_are_base64() -> None:
    with pytest.raises(AwsError) as raised:
        parse_request(
            "cognito-idp",
            HttpRequest(
                "POST",
                "/",
                "",
                [("X-Amz-Target", TARGET + "SetUICustomization")],
                b'{"UserPoolId": "p_1", "ImageFile": "*"}',
            ),
        )
    assert raised.value.code == "SerializationException"
    _, params = parse_request(
        "cognito-idp",
        HttpRequest(
            "POST",
            "/",
            "",
            [("X-Amz-Target", TARGET + "SetUICustomization")],
            b'{"UserPoolId": "p_1", "ImageFile": "AP8="}',
        ),
    )
    assert params["ImageFile"] == b"\x00\xff"


def test_success_response_shape() -> None:
    response = serialize_response(
        "cognito-identity",
        "GetCredentialsForIdentity",
        {
            "IdentityId": "us-east-1:abc",
            "Credentials": {
                "AccessKeyId": "ASIA",
                "SecretKey": "s",
                "SessionToken": "t",
                "Expiration": datetime(2024, 1, 1, 0, 0, 0, 250000, tzinfo=UTC),
            },
            "NotInTheModel": "dropped",
        },
        "rid",
    )
    assert response.status == 200
    assert response.headers == [("x-amzn-RequestId", "rid"), ("Content-Type", "application/x-amz-json-1.1")]
    assert json.loads(response.body) == {
        "IdentityId": "us-east-1:abc",
        "Credentials": {
            "AccessKeyId": "ASIA",
            "SecretKey": "s",
            "SessionToken": "t",
            "Expiration": 1704067200.25,
        },
    }
    assert serialize_response("cognito-idp", "AdminDeleteUser", None, "rid").body == b"{}"


def test_output_values_are_coerced_to_the_model_types() -> None:
    class Medium(Enum):
        EMAIL = "EMAIL"

    response = serialize_response(
        "cognito-idp",
        "ForgotPassword",
        {
            "CodeDeliveryDetails": {
                "DeliveryMedium": Medium.EMAIL,
                "Destination": "a***@b",
                "AttributeName": "email",
            }
        },
        "rid",
    )
    assert json.loads(response.body)["CodeDeliveryDetails"]["DeliveryMedium"] == "EMAIL"


def test_request_headers_are_case_insensitive_and_keep_repeats() -> None:
    request = HttpRequest("post", "", "", {"X-Amz-Target": "T.Op", "Content-Type": "x"})
    assert (request.method, request.raw_path, request.header("x-amz-target")) == ("POST", "/", "T.Op")
    repeated = HttpRequest("GET", "/", "", [("X-A", "1"), ("x-a", "2")])
    assert repeated.header_map["x-a"] == "1, 2"
    assert repeated.headers == (("X-A", "1"), ("x-a", "2"))
