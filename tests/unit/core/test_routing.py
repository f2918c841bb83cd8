from __future__ import annotations

from bastion.api.routing import route, signing_service


def test_target_prefix_wins() -> None:
    found = route({"x-amz-target": "AWSCognitoIdentityService.GetId"}, "", b"{}")
    assert found is not None and found.service == "cognito-identity"
    assert route({"x-amz-target": "Unknown.Op"}, "", b"{}") is None


def test_signing_scope_names_the_service() -> None:
    auth = (
        "AWS4-HMAC-SHA256 Credential=AKIA/20240101/us-east-1/iotdata/aws4_request, "
        "SignedHeaders=host, Signature=ab"
    )
    found = route({"authorization": auth}, "", b"")
    assert found is not None and found.service == "iot-data"
    query = "X-Amz-Credential=AKIA%2F20240101%2Fus-east-1%2Fiotdevicegateway%2Faws4_request&X-Amz-Date=x"
    assert signing_service(None, query) == "iotdevicegateway"


def test_unsigned_query_protocol_by_version() -> None:
    found = route(
        {"content-type": "application/x-www-form-urlencoded"},
        "",
        b"Action=AssumeRoleWithWebIdentity&Version=2011-06-15",
    )
    assert found is not None and found.service == "sts"
    assert route({}, "", b"garbage") is None
