"""The AWS IoT policy API through real boto3 clients: every operation, AWS's shapes, statuses and errors."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from bastion.testing.server import ServerThread

from .conftest import ACCOUNT, NO_RETRY, REGION

IOT = f"arn:aws:iot:{REGION}:{ACCOUNT}"
NO_CLIENT_CHECKS = Config(retries={"max_attempts": 1, "mode": "standard"}, parameter_validation=False)


def document(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


CONNECT = document(
    {"Effect": "Allow", "Action": "iot:Connect", "Resource": f"{IOT}:client/${{iot:ClientId}}"}
)
PUBLISH = document({"Effect": "Allow", "Action": "iot:Publish", "Resource": f"{IOT}:topic/a/*"})


def identity(unique: str, n: int = 0) -> str:
    return f"{REGION}:{unique[:8]}-0000-4000-8000-{n:012d}"


def error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = exc.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


@pytest.fixture(scope="module")
def iot(admin: Any) -> Any:
    return admin("iot")


def test_policy_lifecycle_shapes(iot: Any, unique: str) -> None:
    name = f"p-{unique}"
    created = iot.create_policy(policyName=name, policyDocument=CONNECT, tags=[{"Key": "team", "Value": "a"}])
    assert {k: created[k] for k in ("policyName", "policyArn", "policyDocument", "policyVersionId")} == {
        "policyName": name,
        "policyArn": f"{IOT}:policy/{name}",
        "policyDocument": CONNECT,
        "policyVersionId": "1",
    }
    got = iot.get_policy(policyName=name)
    assert got["policyDocument"] == CONNECT and got["defaultVersionId"] == "1"
    assert isinstance(got["creationDate"], datetime) and isinstance(got["lastModifiedDate"], datetime)
    assert len(got["generationId"]) == 64

    v2 = iot.create_policy_version(policyName=name, policyDocument=PUBLISH, setAsDefault=True)
    assert (v2["policyVersionId"], v2["isDefaultVersion"], v2["policyArn"]) == (
        "2",
        True,
        f"{IOT}:policy/{name}",
    )
    assert iot.get_policy(policyName=name)["generationId"] != got["generationId"]
    v3 = iot.create_policy_version(policyName=name, policyDocument=CONNECT)
    assert (v3["policyVersionId"], v3["isDefaultVersion"]) == ("3", False)
    versions = iot.list_policy_versions(policyName=name)["policyVersions"]
    assert [(v["versionId"], v["isDefaultVersion"]) for v in versions] == [
        ("3", False),
        ("2", True),
        ("1", False),
    ]
    assert all(isinstance(v["createDate"], datetime) for v in versions)
    one = iot.get_policy_version(policyName=name, policyVersionId="1")
    assert (one["policyDocument"], one["isDefaultVersion"], one["policyName"]) == (CONNECT, False, name)

    iot.set_default_policy_version(policyName=name, policyVersionId="3")  # PATCH
    assert iot.get_policy(policyName=name)["policyDocument"] == CONNECT
    with pytest.raises(ClientError) as exc:
        iot.delete_policy_version(policyName=name, policyVersionId="3")
    assert error(exc) == ("DeleteConflictException", 409)
    with pytest.raises(ClientError) as exc:
        iot.delete_policy(policyName=name)
    assert error(exc) == ("DeleteConflictException", 409)
    iot.delete_policy_version(policyName=name, policyVersionId="1")
    iot.delete_policy_version(policyName=name, policyVersionId="2")
    iot.delete_policy(policyName=name)
    with pytest.raises(ClientError) as exc:
        iot.get_policy(policyName=name)
    assert error(exc) == ("ResourceNotFoundException", 404)


def test_create_twice_names_the_existing_policy(iot: Any, unique: str) -> None:
    name = f"dup-{unique}"
    iot.create_policy(policyName=name, policyDocument=CONNECT)
    with pytest.raises(iot.exceptions.ResourceAlreadyExistsException) as exc:
        iot.create_policy(policyName=name, policyDocument=CONNECT)
    response = exc.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 409
    assert response["resourceId"] == name and response["resourceArn"] == f"{IOT}:policy/{name}"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:Connect"}]}', "Resource"),
        ("[]", "JSON object"),
        (document({"Effect": "Allow", "Action": "iot:Connect", "Resource": "x" * 2100}), "2048"),
    ],
)
def test_malformed_policies(iot: Any, unique: str, text: str, fragment: str) -> None:
    with pytest.raises(iot.exceptions.MalformedPolicyException) as exc:
        iot.create_policy(policyName=f"bad-{unique}", policyDocument=text)
    assert error(exc) == ("MalformedPolicyException", 400)
    assert fragment in exc.value.response["Error"]["Message"]


def test_the_fifth_version_is_the_last(iot: Any, unique: str) -> None:
    name = f"v-{unique}"
    iot.create_policy(policyName=name, policyDocument=CONNECT)
    for _ in range(4):
        iot.create_policy_version(policyName=name, policyDocument=CONNECT)
    with pytest.raises(iot.exceptions.VersionsLimitExceededException) as exc:
        iot.create_policy_version(policyName=name, policyDocument=CONNECT, setAsDefault=True)
    assert error(exc) == ("VersionsLimitExceededException", 409)


@pytest.mark.parametrize(("name", "problem"), [("bad name!", "pattern"), ("x" * 129, "length")])
def test_name_rules(server: ServerThread, name: str, problem: str) -> None:
    key, secret = server.admin_keys
    client = boto3.client(
        "iot",
        endpoint_url=server.endpoint_url,
        region_name=REGION,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=NO_CLIENT_CHECKS,
    )
    with pytest.raises(ClientError) as exc:
        client.create_policy(policyName=name, policyDocument=CONNECT)
    assert error(exc) == ("InvalidRequestException", 400)
    assert problem in exc.value.response["Error"]["Message"]


def test_attach_twice_list_and_detach(iot: Any, unique: str) -> None:
    target = identity(unique)
    names = [f"a-{unique}-{n}" for n in range(3)]
    for name in names:
        iot.create_policy(policyName=name, policyDocument=CONNECT)
        iot.attach_policy(policyName=name, target=target)  # PUT
    iot.attach_policy(policyName=names[0], target=target)  # again: harmless
    attached = iot.list_attached_policies(target=target)["policies"]
    assert attached == [{"policyName": n, "policyArn": f"{IOT}:policy/{n}"} for n in names]
    first = iot.list_attached_policies(target=target, pageSize=2)
    second = iot.list_attached_policies(target=target, pageSize=2, marker=first["nextMarker"])
    assert [p["policyName"] for p in first["policies"] + second["policies"]] == names
    assert "nextMarker" not in second
    assert iot.list_targets_for_policy(policyName=names[0])["targets"] == [target]

    iot.detach_policy(policyName=names[0], target=target)  # POST on the same path
    iot.detach_policy(policyName=names[0], target=target)  # already detached: harmless
    assert iot.list_targets_for_policy(policyName=names[0])["targets"] == []
    with pytest.raises(ClientError) as exc:
        iot.list_targets_for_policy(policyName=f"missing-{unique}")
    assert error(exc) == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as exc:
        iot.attach_policy(policyName=f"missing-{unique}", target=target)
    assert error(exc) == ("ResourceNotFoundException", 404)


def test_ten_policies_per_target(iot: Any, unique: str) -> None:
    target = identity(unique, 10)
    for n in range(10):
        iot.create_policy(policyName=f"l-{unique}-{n}", policyDocument=CONNECT)
        iot.attach_policy(policyName=f"l-{unique}-{n}", target=target)
    iot.create_policy(policyName=f"l-{unique}-x", policyDocument=CONNECT)
    with pytest.raises(iot.exceptions.LimitExceededException) as exc:
        iot.attach_policy(policyName=f"l-{unique}-x", target=target)
    assert error(exc) == ("LimitExceededException", 410)


@pytest.mark.parametrize("target", ["not-a-target", f"{IOT}:thing/t"])
def test_targets_must_be_identities_certificates_or_thing_groups(iot: Any, unique: str, target: str) -> None:
    iot.create_policy(policyName=f"t-{unique}", policyDocument=CONNECT)
    with pytest.raises(ClientError) as exc:
        iot.attach_policy(policyName=f"t-{unique}", target=target)
    assert error(exc) == ("InvalidRequestException", 400)


def test_list_policies_pages_in_creation_order(iot: Any, unique: str) -> None:
    names = [f"o-{unique}-{n}" for n in range(5)]
    for name in names:
        iot.create_policy(policyName=name, policyDocument=CONNECT)

    def collect(ascending: bool) -> list[str]:
        seen: list[str] = []
        kwargs: dict[str, Any] = {"pageSize": 2, "ascendingOrder": ascending}
        while True:
            page = iot.list_policies(**kwargs)
            seen.extend(
                p["policyName"] for p in page["policies"] if p["policyName"].startswith(f"o-{unique}")
            )
            if "nextMarker" not in page:
                return seen
            kwargs["marker"] = page["nextMarker"]

    assert collect(True) == names
    assert collect(False) == list(reversed(names))
    paginated = [
        p["policyName"]
        for page in iot.get_paginator("list_policies").paginate(
            ascendingOrder=True, PaginationConfig={"PageSize": 3}
        )
        for p in page["policies"]
    ]
    assert [n for n in paginated if n.startswith(f"o-{unique}")] == names


def test_deprecated_principal_policy_operations(iot: Any, unique: str) -> None:
    principal = identity(unique, 20)
    names = [f"d-{unique}-{n}" for n in range(2)]
    for name in names:
        iot.create_policy(policyName=name, policyDocument=CONNECT)
        iot.attach_principal_policy(policyName=name, principal=principal)  # x-amzn-iot-principal header
    iot.attach_principal_policy(policyName=names[0], principal=principal)
    listed = iot.list_principal_policies(principal=principal, ascendingOrder=True)["policies"]
    assert [p["policyName"] for p in listed] == names
    newest_first = iot.list_principal_policies(principal=principal)["policies"]
    assert [p["policyName"] for p in newest_first] == list(reversed(names))
    assert iot.list_policy_principals(policyName=names[0])["principals"] == [principal]  # x-amzn-iot-policy
    iot.detach_principal_policy(policyName=names[0], principal=principal)
    assert [p["policyName"] for p in iot.list_attached_policies(target=principal)["policies"]] == names[1:]
    with pytest.raises(ClientError) as exc:
        iot.detach_principal_policy(policyName=f"missing-{unique}", principal=principal)
    assert error(exc) == ("ResourceNotFoundException", 404)


def test_effective_policies_and_test_authorization_shapes(iot: Any, unique: str) -> None:
    target = identity(unique, 30)
    allow_name, deny_name = f"e-{unique}-allow", f"e-{unique}-deny"
    iot.create_policy(policyName=allow_name, policyDocument=CONNECT)
    iot.create_policy(
        policyName=deny_name,
        policyDocument=document(
            {"Effect": "Deny", "Action": "iot:Connect", "Resource": f"{IOT}:client/evil"}
        ),
    )
    for name in (allow_name, deny_name):
        iot.attach_policy(policyName=name, target=target)
    effective = iot.get_effective_policies(principal=target)["effectivePolicies"]
    assert {e["policyName"] for e in effective} == {allow_name, deny_name}
    assert {e["policyDocument"] for e in effective if e["policyName"] == allow_name} == {CONNECT}

    results = iot.test_authorization(
        principal=target,
        clientId="good",
        authInfos=[
            {"actionType": "CONNECT", "resources": [f"{IOT}:client/good"]},
            {"actionType": "CONNECT", "resources": [f"{IOT}:client/evil"]},
            {"actionType": "PUBLISH", "resources": [f"{IOT}:topic/a/b"]},
        ],
    )["authResults"]
    good, evil, publish = results
    assert good["authDecision"] == "ALLOWED"
    assert good["allowed"]["policies"] == [
        {"policyName": allow_name, "policyArn": f"{IOT}:policy/{allow_name}"}
    ]
    assert good["authInfo"] == {"actionType": "CONNECT", "resources": [f"{IOT}:client/good"]}
    assert evil["authDecision"] == "EXPLICIT_DENY"
    assert [p["policyName"] for p in evil["denied"]["explicitDeny"]["policies"]] == [deny_name]
    assert publish["authDecision"] == "IMPLICIT_DENY"
    assert {p["policyName"] for p in publish["denied"]["implicitDeny"]["policies"]} == {allow_name, deny_name}
    assert publish["missingContextValues"] == []


def test_describe_endpoint_answers_an_address_sdks_can_use(server: ServerThread, iot: Any) -> None:
    for endpoint_type in ("iot:Data", "iot:Data-ATS", "iot:CredentialProvider", "iot:Jobs"):
        address = iot.describe_endpoint(endpointType=endpoint_type)["endpointAddress"]
        assert address == f"127.0.0.1:{server.server.port}"
    assert iot.describe_endpoint()["endpointAddress"] == address
    key, secret = server.admin_keys
    through_it = boto3.client(
        "iot",
        endpoint_url=f"http://{address}",
        region_name=REGION,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=NO_RETRY,
    )
    assert "policies" in through_it.list_policies(pageSize=1)
    with pytest.raises(ClientError) as exc:
        iot.describe_endpoint(endpointType="iot:Elsewhere")
    assert error(exc) == ("InvalidRequestException", 400)
