"""Identity pool administration through real boto3 clients: the signed operations and their errors."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from .conftest import ACCOUNT, REGION, ClientFactory

USER_POOL = f"cognito-idp.{REGION}.amazonaws.com/{REGION}_AdminTest1"


def _error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = exc.value.response["Error"]
    return error["Code"], error["Message"]


def _pool_arn(pool_id: str) -> str:
    return f"arn:aws:cognito-identity:{REGION}:{ACCOUNT}:identitypool/{pool_id}"


def _role_arn(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/{name}"


def test_pool_lifecycle(admin: Any, unique: str) -> None:
    ci = admin("cognito-identity")
    created = ci.create_identity_pool(
        IdentityPoolName=f"pool {unique}",
        AllowUnauthenticatedIdentities=True,
        AllowClassicFlow=True,
        CognitoIdentityProviders=[
            {"ProviderName": USER_POOL, "ClientId": "app1", "ServerSideTokenCheck": True}
        ],
        SupportedLoginProviders={"graph.facebook.com": "1234567890"},
        IdentityPoolTags={"team": "iot"},
    )
    pool_id = created["IdentityPoolId"]
    assert pool_id.startswith(f"{REGION}:")
    described = ci.describe_identity_pool(IdentityPoolId=pool_id)
    for key in ("IdentityPoolName", "AllowUnauthenticatedIdentities", "AllowClassicFlow", "IdentityPoolTags"):
        assert described[key] == created[key]
    assert described["CognitoIdentityProviders"] == [
        {"ProviderName": USER_POOL, "ClientId": "app1", "ServerSideTokenCheck": True}
    ]
    assert described["SupportedLoginProviders"] == {"graph.facebook.com": "1234567890"}

    updated = ci.update_identity_pool(
        IdentityPoolId=pool_id, IdentityPoolName=f"renamed {unique}", AllowUnauthenticatedIdentities=False
    )
    assert updated["IdentityPoolName"] == f"renamed {unique}"
    assert updated["AllowUnauthenticatedIdentities"] is False
    assert updated["CognitoIdentityProviders"] == []
    assert updated["IdentityPoolTags"] == {"team": "iot"}

    listed: list[str] = []
    kwargs: dict[str, Any] = {"MaxResults": 1}
    while True:
        page = ci.list_identity_pools(**kwargs)
        listed += [p["IdentityPoolId"] for p in page["IdentityPools"]]
        if "NextToken" not in page:
            break
        kwargs["NextToken"] = page["NextToken"]
    assert pool_id in listed

    ci.delete_identity_pool(IdentityPoolId=pool_id)
    with pytest.raises(ClientError) as exc:
        ci.describe_identity_pool(IdentityPoolId=pool_id)
    assert _error(exc) == ("ResourceNotFoundException", f"IdentityPool '{pool_id}' not found.")


def test_roles_and_role_mappings_round_trip(admin: Any, unique: str) -> None:
    ci = admin("cognito-identity")
    pool_id = ci.create_identity_pool(
        IdentityPoolName=unique,
        AllowUnauthenticatedIdentities=False,
        CognitoIdentityProviders=[{"ProviderName": USER_POOL, "ClientId": "app1"}],
    )["IdentityPoolId"]
    mappings = {
        f"{USER_POOL}:app1": {
            "Type": "Rules",
            "AmbiguousRoleResolution": "Deny",
            "RulesConfiguration": {
                "Rules": [
                    {
                        "Claim": "cognito:groups",
                        "MatchType": "Contains",
                        "Value": "admin",
                        "RoleARN": _role_arn("a"),
                    }
                ]
            },
        }
    }
    roles = {"authenticated": _role_arn("auth"), "unauthenticated": _role_arn("unauth")}
    ci.set_identity_pool_roles(IdentityPoolId=pool_id, Roles=roles, RoleMappings=mappings)
    got = ci.get_identity_pool_roles(IdentityPoolId=pool_id)
    assert got["IdentityPoolId"] == pool_id
    assert got["Roles"] == roles
    assert got["RoleMappings"] == mappings

    bad = {f"{USER_POOL}:not-a-client": {"Type": "Token", "AmbiguousRoleResolution": "Deny"}}
    with pytest.raises(ClientError) as exc:
        ci.set_identity_pool_roles(IdentityPoolId=pool_id, Roles=roles, RoleMappings=bad)
    assert _error(exc)[0] == "InvalidParameterException"
    with pytest.raises(ClientError) as exc:
        ci.set_identity_pool_roles(IdentityPoolId=pool_id, Roles={"authenticated": "arn:aws:s3:::bucket/x"})
    assert _error(exc)[0] == "InvalidParameterException"


def test_model_validation_comes_before_the_service(admin: Any) -> None:
    ci = admin("cognito-identity")
    with pytest.raises(ClientError) as exc:
        ci.describe_identity_pool(IdentityPoolId="no colon here")
    code, message = _error(exc)
    assert code == "InvalidParameterException"
    assert message.startswith("1 validation error detected: Value 'no colon here' at 'identityPoolId'")


def test_signed_operations_are_authorized_per_pool(
    admin: Any, client_for: ClientFactory, unique: str
) -> None:
    ci, iam = admin("cognito-identity"), admin("iam")
    mine = ci.create_identity_pool(IdentityPoolName=f"mine{unique}", AllowUnauthenticatedIdentities=True)
    theirs = ci.create_identity_pool(IdentityPoolName=f"theirs{unique}", AllowUnauthenticatedIdentities=True)
    user = f"operator-{unique}"
    iam.create_user(UserName=user)
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": [
                    "cognito-identity:DescribeIdentityPool",
                    "cognito-identity:ListIdentities",
                    "cognito-identity:DescribeIdentity",
                    "cognito-identity:DeleteIdentities",
                ],
                "Resource": _pool_arn(mine["IdentityPoolId"]),
            }
        ],
    }
    iam.put_user_policy(UserName=user, PolicyName="one-pool", PolicyDocument=json.dumps(document))
    key = iam.create_access_key(UserName=user)["AccessKey"]
    operator = client_for("cognito-identity", key["AccessKeyId"], key["SecretAccessKey"])

    assert (
        operator.describe_identity_pool(IdentityPoolId=mine["IdentityPoolId"])["IdentityPoolName"]
        == f"mine{unique}"
    )
    with pytest.raises(ClientError) as exc:
        operator.describe_identity_pool(IdentityPoolId=theirs["IdentityPoolId"])
    code, message = _error(exc)
    assert code == "AccessDeniedException"
    assert message == (
        f"User: arn:aws:iam::{ACCOUNT}:user/{user} is not authorized to perform: "
        f"cognito-identity:DescribeIdentityPool on resource: {_pool_arn(theirs['IdentityPoolId'])}"
    )
    with pytest.raises(ClientError) as exc:
        operator.create_identity_pool(IdentityPoolName="nope", AllowUnauthenticatedIdentities=True)
    assert _error(exc)[0] == "AccessDeniedException"

    # Identities: the pool of each identity decides.
    my_guest = ci.get_id(IdentityPoolId=mine["IdentityPoolId"])["IdentityId"]
    their_guest = ci.get_id(IdentityPoolId=theirs["IdentityPoolId"])["IdentityId"]
    described = operator.describe_identity(IdentityId=my_guest)
    assert described["IdentityId"] == my_guest and "Logins" not in described
    with pytest.raises(ClientError) as exc:
        operator.describe_identity(IdentityId=their_guest)
    assert _error(exc)[0] == "AccessDeniedException"
    listed = operator.list_identities(IdentityPoolId=mine["IdentityPoolId"], MaxResults=10)
    assert [i["IdentityId"] for i in listed["Identities"]] == [my_guest]

    result = operator.delete_identities(IdentityIdsToDelete=[my_guest, their_guest])
    assert result["UnprocessedIdentityIds"] == [{"IdentityId": their_guest, "ErrorCode": "AccessDenied"}]
    with pytest.raises(ClientError) as exc:
        ci.describe_identity(IdentityId=my_guest)
    assert _error(exc) == ("ResourceNotFoundException", f"Identity '{my_guest}' not found.")
    assert ci.describe_identity(IdentityId=their_guest)["IdentityId"] == their_guest


def test_unsigned_admin_calls_are_refused(server: Any, unique: str) -> None:
    import boto3
    from botocore import UNSIGNED
    from botocore.config import Config

    anonymous = boto3.session.Session(region_name=REGION).client(
        "cognito-identity", endpoint_url=server.endpoint_url, config=Config(signature_version=UNSIGNED)
    )
    with pytest.raises(ClientError) as exc:
        anonymous.list_identity_pools(MaxResults=5)
    assert exc.value.response["Error"]["Code"] == "MissingAuthenticationTokenException"
