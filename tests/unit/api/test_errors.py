"""Error responses per protocol, read back by botocore, and the unknown-operation answers."""

from __future__ import annotations

import json

import pytest

from bastion.api.errors import AwsError, UnknownOperationError
from bastion.api.models import INTERNAL_ERROR_CODES, error_status, service_model, wire_error_code
from bastion.api.protocols import HttpRequest, identify_operation, parse_request, serialize_error

from .botocore_oracle import botocore_parse

SERVICES = ["iam", "sts", "cognito-idp", "cognito-identity", "iot", "iot-data", "lambda"]


@pytest.mark.parametrize("service", SERVICES)
def test_every_modeled_error_reads_back_with_code_message_and_status(service: str) -> None:
    model = service_model(service)
    operation = model.operation_names[0]
    assert model.error_shapes
    for shape in model.error_shapes:
        response = serialize_error(service, AwsError(shape.name, 'it <broke> & "why"'), "rid-9")
        parsed = botocore_parse(service, operation, response)
        expected_status = (shape.metadata.get("error") or {}).get("httpStatusCode") or (
            500 if shape.name in INTERNAL_ERROR_CODES else 400
        )
        assert parsed["Error"]["Code"] == wire_error_code(service, shape.name), shape.name
        assert parsed["Error"]["Message"] == 'it <broke> & "why"'
        assert parsed["ResponseMetadata"]["RequestId"] == "rid-9"
        assert response.status == expected_status, shape.name


def test_query_error_document_is_exact() -> None:
    response = serialize_error(
        "iam", AwsError("NoSuchEntityException", "The role with name x cannot be found."), "r1"
    )
    assert response.status == 404
    assert response.header("Content-Type") == "text/xml"
    assert response.header("x-amzn-RequestId") == "r1"
    assert response.body == (
        b'<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type>'
        b"<Code>NoSuchEntity</Code><Message>The role with name x cannot be found.</Message></Error>"
        b"<RequestId>r1</RequestId></ErrorResponse>"
    )


def test_query_server_failure_is_receiver_fault() -> None:
    response = serialize_error("iam", AwsError("ServiceFailure", "boom"), "r")
    assert response.status == 500
    assert b"<Type>Receiver</Type>" in response.body
    sts = serialize_error("sts", AwsError("ExpiredTokenException", "Token expired"), "r")
    assert sts.status == 400 and b"https://sts.amazonaws.com/doc/2011-06-15/" in sts.body


def test_json11_error_has_type_in_body_and_header() -> None:
    response = serialize_error(
        "cognito-idp", AwsError("InvalidParameterException", "bad", fields={"reasonCode": "X"}), "r"
    )
    assert response.status == 400
    assert response.header("x-amzn-ErrorType") == "InvalidParameterException:"
    assert response.header("Content-Type") == "application/x-amz-json-1.1"
    assert json.loads(response.body) == {
        "__type": "InvalidParameterException",
        "message": "bad",
        "reasonCode": "X",
    }
    internal = serialize_error("cognito-identity", AwsError("InternalErrorException", "oops"), "r")
    assert internal.status == 500


def test_rest_json_error_shapes() -> None:
    iot = serialize_error("iot", AwsError("LimitExceededException", "too many"), "r")
    assert (iot.status, iot.header("x-amzn-ErrorType")) == (410, "LimitExceededException")
    assert json.loads(iot.body) == {"message": "too many"}
    throttled = serialize_error("iot-data", AwsError("ThrottlingException", "slow down"), "r")
    assert throttled.status == 429
    # Lambda spells the member "Message" on some errors and sends some members as headers.
    missing = serialize_error(
        "lambda", AwsError("ResourceNotFoundException", "Function not found", fields={"Type": "User"}), "r"
    )
    assert json.loads(missing.body) == {"Message": "Function not found", "Type": "User"}
    busy = serialize_error(
        "lambda",
        AwsError("TooManyRequestsException", "Rate exceeded", fields={"retryAfterSeconds": "2"}),
        "r",
    )
    assert busy.header("Retry-After") == "2" and "retryAfterSeconds" not in json.loads(busy.body)


def test_status_and_fault_overrides() -> None:
    response = serialize_error("iam", AwsError("AccessDenied", "no", status=403, sender_fault=True), "r")
    assert response.status == 403 and b"<Code>AccessDenied</Code>" in response.body
    assert error_status("iot", "SomethingUnmodeled") == 400
    assert error_status("iam", "ServiceFailure") == 500
    assert wire_error_code("iam", "EntityAlreadyExistsException") == "EntityAlreadyExists"
    assert wire_error_code("cognito-idp", "NotAuthorizedException") == "NotAuthorizedException"


# ------------------------------------------------------------------------------------- unknown operations


def test_json11_unknown_target() -> None:
    for target in ("AWSCognitoIdentityProviderService.Nope", "Other.SignUp", None):
        headers = [("X-Amz-Target", target)] if target else []
        request = HttpRequest("POST", "/", "", headers, b"{}")
        with pytest.raises(UnknownOperationError) as raised:
            parse_request("cognito-idp", request)
        assert (raised.value.code, raised.value.status) == ("UnknownOperationException", 400)
        parsed = botocore_parse("cognito-idp", "SignUp", serialize_error("cognito-idp", raised.value, "r"))
        assert parsed["Error"]["Code"] == "UnknownOperationException"


def test_query_unknown_action_and_version() -> None:
    body = b"Action=Nope&Version=2010-05-08"
    with pytest.raises(UnknownOperationError) as raised:
        parse_request("iam", HttpRequest("POST", "/", "", [], body))
    assert (raised.value.code, raised.value.message) == (
        "InvalidAction",
        "Could not find operation Nope for version 2010-05-08",
    )
    with pytest.raises(UnknownOperationError) as raised:
        parse_request("iam", HttpRequest("POST", "/", "", [], b"Action=ListRoles&Version=2011-06-15"))
    assert raised.value.message == "Could not find operation ListRoles for version 2011-06-15"
    with pytest.raises(UnknownOperationError) as raised:
        parse_request("sts", HttpRequest("POST", "/", "", [], b"Version=2011-06-15"))
    assert raised.value.code == "MissingAction"
    # GET with everything in the query string works too.
    assert (
        identify_operation("sts", HttpRequest("GET", "/", "Action=GetCallerIdentity&Version=2011-06-15"))
        == "GetCallerIdentity"
    )


def test_rest_json_unknown_path_or_method_is_404() -> None:
    for method, path in (
        ("GET", "/no-such-thing"),
        ("DELETE", "/endpoint"),
        ("POST", "/topics/"),
        ("GET", "/topics/a"),
    ):
        service = "iot-data" if path.startswith("/topics") else "iot"
        with pytest.raises(UnknownOperationError) as raised:
            identify_operation(service, HttpRequest(method, path))
        assert (raised.value.code, raised.value.status) == ("UnknownOperationException", 404)
        response = serialize_error(service, raised.value, "r")
        assert response.status == 404 and response.header("x-amzn-ErrorType") == "UnknownOperationException"
