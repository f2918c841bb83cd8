"""Realistic calls through a real botocore client (signing, handlers, error factory) wired to our layer.

The loopback server parses each request with ``parse_request``, records what it saw, and answers with
``serialize_response`` / ``serialize_error``; the client's parsed result is what an application would get.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from bastion.api.errors import AwsError
from bastion.api.protocols import (
    HttpRequest,
    HttpResponse,
    parse_request,
    serialize_error,
    serialize_response,
)

from .botocore_oracle import LoopbackClient

CREATED = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": "cognito-identity.amazonaws.com"},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {"StringEquals": {"cognito-identity.amazonaws.com:aud": "us-east-1:pool"}},
            }
        ],
    }
)
IOT_POLICY = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iot:Connect", "Resource": "*"}]}
)


class Server:
    """Answers every request of one service with ``output`` (or raises ``error``) and records the parse."""

    def __init__(self, service: str) -> None:
        self.service = service
        self.seen: list[tuple[str, dict[str, Any]]] = []
        self.output: dict[str, Any] = {}
        self.error: AwsError | None = None
        self.client = LoopbackClient(service, self.handle).client
        self.last: HttpRequest | None = None
        self.last_response: HttpResponse | None = None

    def handle(self, request: HttpRequest) -> HttpResponse:
        self.last = request
        try:
            operation, params = parse_request(self.service, request)
            self.seen.append((operation, params))
            if self.error is not None:
                raise self.error
            self.last_response = serialize_response(self.service, operation, self.output, "rid-1")
        except AwsError as error:
            self.last_response = serialize_error(self.service, error, "rid-1")
        return self.last_response


def _strip(result: dict[str, Any]) -> dict[str, Any]:
    result.pop("ResponseMetadata", None)
    return result


@pytest.fixture(scope="module")
def servers() -> Callable[[str], Server]:
    cache: dict[str, Server] = {}

    def get(service: str) -> Server:
        if service not in cache:
            cache[service] = Server(service)
        server = cache[service]
        server.seen.clear()
        server.output, server.error = {}, None
        return server

    return get


def test_iam_create_role_round_trip(servers: Callable[[str], Server]) -> None:
    iam = servers("iam")
    role = {
        "Path": "/",
        "RoleName": "CognitoAuthRole",
        "RoleId": "AROAEXAMPLE123",
        "Arn": "arn:aws:iam::123456789012:role/CognitoAuthRole",
        "CreateDate": CREATED,
        "AssumeRolePolicyDocument": TRUST,
        "MaxSessionDuration": 3600,
        "Tags": [{"Key": "team", "Value": "iot team: a+b"}],
    }
    iam.output = {"Role": role}
    result = iam.client.create_role(
        RoleName="CognitoAuthRole",
        AssumeRolePolicyDocument=TRUST,
        Description="role for <authenticated> users",
        MaxSessionDuration=3600,
        Tags=[{"Key": "team", "Value": "iot team: a+b"}],
    )
    assert iam.seen == [
        (
            "CreateRole",
            {
                "RoleName": "CognitoAuthRole",
                "AssumeRolePolicyDocument": TRUST,
                "Description": "role for <authenticated> users",
                "MaxSessionDuration": 3600,
                "Tags": [{"Key": "team", "Value": "iot team: a+b"}],
            },
        )
    ]
    # On the wire the document is URL-encoded JSON; botocore's IAM handler decodes it back into a dict.
    assert _strip(result)["Role"] == {**role, "AssumeRolePolicyDocument": json.loads(TRUST)}


def test_iam_put_role_policy_and_list_roles(servers: Callable[[str], Server]) -> None:
    iam = servers("iam")
    iam.client.put_role_policy(RoleName="r", PolicyName="iot", PolicyDocument=IOT_POLICY)
    assert iam.seen[-1] == (
        "PutRolePolicy",
        {"RoleName": "r", "PolicyName": "iot", "PolicyDocument": IOT_POLICY},
    )
    assert iam.last is not None and iam.last.body.startswith(b"Action=PutRolePolicy&Version=2010-05-08&")

    roles = [
        {
            "Path": "/",
            "RoleName": f"r{i}",
            "RoleId": f"AROA{i}",
            "Arn": f"arn:aws:iam::1:role/r{i}",
            "CreateDate": CREATED,
        }
        for i in range(3)
    ]
    iam.output = {"Roles": roles, "IsTruncated": True, "Marker": "m2"}
    result = _strip(iam.client.list_roles(PathPrefix="/", MaxItems=3))
    assert iam.seen[-1] == ("ListRoles", {"PathPrefix": "/", "MaxItems": 3})
    assert result == {"Roles": roles, "IsTruncated": True, "Marker": "m2"}


def test_iam_errors_become_modeled_exceptions(servers: Callable[[str], Server]) -> None:
    iam = servers("iam")
    iam.error = AwsError("NoSuchEntity", "The role with name nobody cannot be found.")
    with pytest.raises(iam.client.exceptions.NoSuchEntityException) as raised:
        iam.client.get_role(RoleName="nobody")
    error = raised.value.response["Error"]
    assert (error["Code"], error["Type"]) == ("NoSuchEntity", "Sender")
    assert error["Message"] == "The role with name nobody cannot be found."
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_iam_validation_error_reaches_the_client(servers: Callable[[str], Server]) -> None:
    iam = servers("iam")
    with pytest.raises(ClientError) as raised:
        iam.client.create_role(RoleName="bad name", AssumeRolePolicyDocument=TRUST)
    error = raised.value.response["Error"]
    assert error["Code"] == "ValidationError"
    assert error["Message"] == (
        "1 validation error detected: Value 'bad name' at 'roleName' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: [\\w+=,.@-]+"
    )
    assert iam.seen == []


def test_sts_web_identity_credentials(servers: Callable[[str], Server]) -> None:
    sts = servers("sts")
    credentials = {
        "AccessKeyId": "ASIAEXAMPLE",
        "SecretAccessKey": "secret",
        "SessionToken": "token",
        "Expiration": datetime(2024, 1, 2, 4, 4, 5, tzinfo=UTC),
    }
    sts.output = {
        "Credentials": credentials,
        "SubjectFromWebIdentityToken": "us-east-1:identity",
        "AssumedRoleUser": {"AssumedRoleId": "AROA:sess", "Arn": "arn:aws:sts::1:assumed-role/r/sess"},
        "Provider": "cognito-identity.amazonaws.com",
        "Audience": "us-east-1:pool",
    }
    result = _strip(
        sts.client.assume_role_with_web_identity(
            RoleArn="arn:aws:iam::123456789012:role/r", RoleSessionName="sess", WebIdentityToken="x" * 40
        )
    )
    assert result == sts.output
    assert sts.last is not None
    assert sts.seen[-1][1]["RoleSessionName"] == "sess"


def test_iot_create_and_attach_policy(servers: Callable[[str], Server]) -> None:
    iot = servers("iot")
    iot.output = {
        "policyName": "p1",
        "policyArn": "arn:aws:iot:us-east-1:123456789012:policy/p1",
        "policyDocument": IOT_POLICY,
        "policyVersionId": "1",
    }
    result = _strip(iot.client.create_policy(policyName="p1", policyDocument=IOT_POLICY, tags=[{"Key": "k"}]))
    assert result == iot.output
    assert iot.seen[-1] == (
        "CreatePolicy",
        {"policyName": "p1", "policyDocument": IOT_POLICY, "tags": [{"Key": "k"}]},
    )

    target = "us-east-1:0f6e5a1c-1234-4d3b-9c1a-0123456789ab"
    iot.output = {}
    iot.client.attach_policy(policyName="p1", target=target)
    assert iot.last is not None
    assert (iot.last.method, iot.last.raw_path) == ("PUT", "/target-policies/p1")
    assert iot.seen[-1] == ("AttachPolicy", {"policyName": "p1", "target": target})


def test_iot_list_attached_policies_target_with_colon(servers: Callable[[str], Server]) -> None:
    iot = servers("iot")
    target = "us-east-1:0f6e5a1c-1234-4d3b-9c1a-0123456789ab"
    iot.output = {"policies": [{"policyName": "p1", "policyArn": "arn:aws:iot:us-east-1:1:policy/p1"}]}
    result = _strip(iot.client.list_attached_policies(target=target, recursive=True, pageSize=10))
    assert iot.last is not None
    assert iot.last.method == "POST"
    assert iot.last.raw_path == "/attached-policies/us-east-1%3A0f6e5a1c-1234-4d3b-9c1a-0123456789ab"
    assert iot.seen[-1] == ("ListAttachedPolicies", {"target": target, "recursive": True, "pageSize": 10})
    assert result == iot.output


def test_iot_resource_already_exists_carries_extra_members(servers: Callable[[str], Server]) -> None:
    iot = servers("iot")
    iot.error = AwsError(
        "ResourceAlreadyExistsException",
        "Policy cannot be created - name already exists (name=p1)",
        fields={"resourceId": "p1", "resourceArn": "arn:aws:iot:us-east-1:1:policy/p1"},
    )
    with pytest.raises(iot.client.exceptions.ResourceAlreadyExistsException) as raised:
        iot.client.create_policy(policyName="p1", policyDocument=IOT_POLICY)
    response = raised.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 409
    assert response["resourceId"] == "p1"
    assert response["Error"]["Message"] == "Policy cannot be created - name already exists (name=p1)"


def test_iot_data_publish_topic_with_slashes_and_binary_payload(servers: Callable[[str], Server]) -> None:
    data = servers("iot-data")
    payload = bytes(range(256))
    data.client.publish(topic="a/b/c", qos=1, retain=True, payload=payload, userProperties='[{"k":"v"}]')
    assert data.last is not None
    assert data.last.raw_path == "/topics/a%2Fb%2Fc"
    operation, params = data.seen[-1]
    assert operation == "Publish"
    assert params == {
        "topic": "a/b/c",
        "qos": 1,
        "retain": True,
        "payload": payload,
        "userProperties": '[{"k":"v"}]',
    }


def test_iot_data_get_thing_shadow_raw_payload(servers: Callable[[str], Server]) -> None:
    data = servers("iot-data")
    document = b'{"state":{"reported":{"on":true}},"version":3}'
    data.output = {"payload": document}
    result = data.client.get_thing_shadow(thingName="lamp", shadowName="night")
    assert result["payload"].read() == document
    assert data.seen[-1] == ("GetThingShadow", {"thingName": "lamp", "shadowName": "night"})


def test_cognito_idp_sign_up_and_initiate_auth(servers: Callable[[str], Server]) -> None:
    idp = servers("cognito-idp")
    idp.output = {
        "UserConfirmed": False,
        "CodeDeliveryDetails": {
            "Destination": "a***@e***",
            "DeliveryMedium": "EMAIL",
            "AttributeName": "email",
        },
        "UserSub": "5f1c2c4e-0b7a-4f3e-9d55-0123456789ab",
    }
    result = _strip(
        idp.client.sign_up(
            ClientId="1example23456789",
            Username="alice@example.com",
            Password="Correct-Horse-9",
            UserAttributes=[{"Name": "email", "Value": "alice@example.com"}],
        )
    )
    assert result == idp.output
    assert idp.seen[-1][1]["UserAttributes"] == [{"Name": "email", "Value": "alice@example.com"}]
    assert idp.last is not None
    assert idp.last.header("X-Amz-Target") == "AWSCognitoIdentityProviderService.SignUp"

    idp.output = {
        "ChallengeName": "PASSWORD_VERIFIER",
        "ChallengeParameters": {
            "SALT": "ab",
            "SRP_B": "cd",
            "SECRET_BLOCK": "ef",
            "USER_ID_FOR_SRP": "alice",
        },
    }
    result = _strip(
        idp.client.initiate_auth(
            AuthFlow="USER_SRP_AUTH",
            ClientId="1example23456789",
            AuthParameters={"USERNAME": "alice", "SRP_A": "0a1b2c"},
        )
    )
    assert result == idp.output
    assert idp.seen[-1] == (
        "InitiateAuth",
        {
            "AuthFlow": "USER_SRP_AUTH",
            "ClientId": "1example23456789",
            "AuthParameters": {"USERNAME": "alice", "SRP_A": "0a1b2c"},
        },
    )


def test_cognito_idp_error_has_type_in_body_and_header(servers: Callable[[str], Server]) -> None:
    idp = servers("cognito-idp")
    idp.error = AwsError("NotAuthorizedException", "Incorrect username or password.")
    with pytest.raises(idp.client.exceptions.NotAuthorizedException) as raised:
        idp.client.initiate_auth(
            AuthFlow="USER_PASSWORD_AUTH", ClientId="c1", AuthParameters={"USERNAME": "a"}
        )
    assert raised.value.response["Error"]["Message"] == "Incorrect username or password."
    assert (
        raised.value.response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-errortype"]
        == "NotAuthorizedException:"
    )


def test_cognito_identity_get_id_and_credentials(servers: Callable[[str], Server]) -> None:
    identity = servers("cognito-identity")
    identity_id = "us-east-1:0f6e5a1c-1234-4d3b-9c1a-0123456789ab"
    logins = {"cognito-idp.us-east-1.amazonaws.com/us-east-1_Example1": "eyJraWQiOi.payload.sig"}
    identity.output = {"IdentityId": identity_id}
    result = _strip(
        identity.client.get_id(IdentityPoolId="us-east-1:11111111-2222-3333-4444-555555555555", Logins=logins)
    )
    assert result == {"IdentityId": identity_id}
    assert identity.seen[-1][1]["Logins"] == logins

    expiration = datetime(2024, 1, 2, 4, 4, 5, tzinfo=UTC)
    identity.output = {
        "IdentityId": identity_id,
        "Credentials": {
            "AccessKeyId": "ASIA1",
            "SecretKey": "s",
            "SessionToken": "t",
            "Expiration": expiration,
        },
    }
    result = _strip(identity.client.get_credentials_for_identity(IdentityId=identity_id, Logins=logins))
    assert result == identity.output
    # Expiration travels as epoch seconds (a JSON number), as the JS SDKs expect; the key is SecretKey.
    assert identity.last_response is not None
    wire = json.loads(identity.last_response.body)["Credentials"]
    assert wire["Expiration"] == int(expiration.timestamp()) and "SecretKey" in wire


def test_publish_payload_is_the_raw_body(servers: Callable[[str], Server]) -> None:
    data = servers("iot-data")
    data.client.publish(topic="t", payload=b"hello")
    assert data.last is not None
    assert (data.last.raw_path, data.last.body) == ("/topics/t", b"hello")
