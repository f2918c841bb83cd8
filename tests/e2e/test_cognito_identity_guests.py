"""Guests of identity pools through real boto3: enhanced flow, basic flow, trust, expiry."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

from bastion.testing.server import ServerThread

from .conftest import ACCOUNT, REGION, ClientFactory, shift_client_clock


def _error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = exc.value.response["Error"]
    return error["Code"], error["Message"]


def _policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _trust(pool_id: str, amr: str) -> str:
    return _policy(
        {
            "Effect": "Allow",
            "Principal": {"Federated": "cognito-identity.amazonaws.com"},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {"cognito-identity.amazonaws.com:aud": pool_id},
                "ForAnyValue:StringLike": {"cognito-identity.amazonaws.com:amr": amr},
            },
        }
    )


def _pool_arn(pool_id: str) -> str:
    return f"arn:aws:cognito-identity:{REGION}:{ACCOUNT}:identitypool/{pool_id}"


@pytest.fixture(scope="module")
def public(server: ServerThread) -> Any:
    """An unsigned client, as apps call GetId / GetCredentialsForIdentity / GetOpenIdToken."""
    return boto3.session.Session(region_name=REGION).client(
        "cognito-identity", endpoint_url=server.endpoint_url, config=Config(signature_version=UNSIGNED)
    )


@pytest.fixture(scope="module")
def public_sts(server: ServerThread) -> Any:
    return boto3.session.Session(region_name=REGION).client(
        "sts", endpoint_url=server.endpoint_url, config=Config(signature_version=UNSIGNED)
    )


@pytest.fixture
def guest_pool(admin: Any, unique: str) -> Iterator[dict[str, str]]:
    """A pool allowing guests (and the classic flow), whose guest role may describe this pool only."""
    ci, iam = admin("cognito-identity"), admin("iam")
    pool_id = ci.create_identity_pool(
        IdentityPoolName=unique, AllowUnauthenticatedIdentities=True, AllowClassicFlow=True
    )["IdentityPoolId"]
    role = f"guest-{unique}"
    arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=_trust(pool_id, "unauthenticated"))["Role"][
        "Arn"
    ]
    allowed = _policy(
        {
            "Effect": "Allow",
            "Action": "cognito-identity:DescribeIdentityPool",
            "Resource": _pool_arn(pool_id),
        },
        # Allowed by the role but outside the services guests may reach (scope-down policy).
        {"Effect": "Allow", "Action": "iam:ListRoles", "Resource": "*"},
    )
    iam.put_role_policy(RoleName=role, PolicyName="guest", PolicyDocument=allowed)
    ci.set_identity_pool_roles(IdentityPoolId=pool_id, Roles={"unauthenticated": arn})
    yield {"pool_id": pool_id, "role": role, "role_arn": arn}


def _guest_credentials(public: Any, pool_id: str) -> tuple[str, dict[str, Any]]:
    identity_id = public.get_id(IdentityPoolId=pool_id)["IdentityId"]
    response = public.get_credentials_for_identity(IdentityId=identity_id)
    assert response["IdentityId"] == identity_id
    return identity_id, response["Credentials"]


def _signed(client_for: ClientFactory, service: str, creds: dict[str, Any]) -> Any:
    return client_for(service, creds["AccessKeyId"], creds["SecretKey"], creds["SessionToken"])


def test_guest_credentials_allow_exactly_the_unauthenticated_role(
    admin: Any, public: Any, client_for: ClientFactory, guest_pool: dict[str, str], unique: str
) -> None:
    pool_id = guest_pool["pool_id"]
    identity_id, creds = _guest_credentials(public, pool_id)
    assert identity_id.startswith(f"{REGION}:")
    assert creds["AccessKeyId"].startswith("ASIA")
    assert creds["SecretKey"] and creds["SessionToken"]
    lifetime = creds["Expiration"].timestamp() - time.time()
    assert 3590 < lifetime <= 3600

    caller = _signed(client_for, "sts", creds).get_caller_identity()
    assert (
        caller["Arn"]
        == f"arn:aws:sts::{ACCOUNT}:assumed-role/{guest_pool['role']}/CognitoIdentityCredentials"
    )
    assert caller["UserId"].endswith(":CognitoIdentityCredentials")
    assert caller["Account"] == ACCOUNT

    guest = _signed(client_for, "cognito-identity", creds)
    assert guest.describe_identity_pool(IdentityPoolId=pool_id)["IdentityPoolId"] == pool_id
    other = admin("cognito-identity").create_identity_pool(
        IdentityPoolName=f"o{unique}", AllowUnauthenticatedIdentities=True
    )
    denied = [
        lambda: guest.describe_identity_pool(IdentityPoolId=other["IdentityPoolId"]),
        lambda: guest.list_identity_pools(MaxResults=5),
    ]
    for call in denied:
        with pytest.raises(ClientError) as exc:
            call()
        assert _error(exc)[0] == "AccessDeniedException"
    # The role allows iam:ListRoles, the guests' scope-down policy does not.
    with pytest.raises(ClientError) as exc:
        _signed(client_for, "iam", creds).list_roles()
    assert _error(exc) == (
        "AccessDenied",
        f"User: {caller['Arn']} is not authorized to perform: iam:ListRoles on resource: *",
    )


def test_guests_are_refused_when_the_pool_disallows_them(
    admin: Any, public: Any, guest_pool: dict[str, str]
) -> None:
    ci = admin("cognito-identity")
    pool_id = guest_pool["pool_id"]
    identity_id = public.get_id(IdentityPoolId=pool_id)["IdentityId"]
    ci.update_identity_pool(
        IdentityPoolId=pool_id, IdentityPoolName="closed", AllowUnauthenticatedIdentities=False
    )
    expected = ("NotAuthorizedException", "Unauthenticated access is not supported for this identity pool.")
    with pytest.raises(ClientError) as exc:
        public.get_id(IdentityPoolId=pool_id)
    assert _error(exc) == expected
    with pytest.raises(ClientError) as exc:
        public.get_credentials_for_identity(IdentityId=identity_id)
    assert _error(exc) == expected


def test_a_role_that_does_not_trust_the_pool_is_refused(
    admin: Any, public: Any, guest_pool: dict[str, str], unique: str
) -> None:
    ci, iam = admin("cognito-identity"), admin("iam")
    pool_id = guest_pool["pool_id"]
    other_pool = ci.create_identity_pool(IdentityPoolName=f"x{unique}", AllowUnauthenticatedIdentities=True)
    untrusting = iam.create_role(
        RoleName=f"untrusting-{unique}",
        AssumeRolePolicyDocument=_trust(other_pool["IdentityPoolId"], "unauthenticated"),
    )["Role"]["Arn"]
    ci.set_identity_pool_roles(IdentityPoolId=pool_id, Roles={"unauthenticated": untrusting})
    identity_id = public.get_id(IdentityPoolId=pool_id)["IdentityId"]
    with pytest.raises(ClientError) as exc:
        public.get_credentials_for_identity(IdentityId=identity_id)
    assert _error(exc) == (
        "InvalidIdentityPoolConfigurationException",
        "Invalid identity pool configuration. Check assigned IAM roles for this pool.",
    )
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_basic_flow_through_sts(
    admin: Any, public: Any, public_sts: Any, client_for: ClientFactory, guest_pool: dict[str, str]
) -> None:
    identity_id = public.get_id(IdentityPoolId=guest_pool["pool_id"])["IdentityId"]
    response = public.get_open_id_token(IdentityId=identity_id)
    assert response["IdentityId"] == identity_id
    assumed = public_sts.assume_role_with_web_identity(
        RoleArn=guest_pool["role_arn"], RoleSessionName="classic", WebIdentityToken=response["Token"]
    )
    assert assumed["SubjectFromWebIdentityToken"] == identity_id
    assert assumed["Provider"] == "cognito-identity.amazonaws.com"
    assert assumed["Audience"] == guest_pool["pool_id"]
    creds = assumed["Credentials"]
    arn = client_for(
        "sts", creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"]
    ).get_caller_identity()["Arn"]
    assert arn == f"arn:aws:sts::{ACCOUNT}:assumed-role/{guest_pool['role']}/classic"
    # No scope-down in the basic flow: the role's iam:ListRoles works.
    iam = client_for("iam", creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
    assert "Roles" in iam.list_roles()


def test_basic_flow_needs_the_pool_to_allow_it(admin: Any, public: Any, guest_pool: dict[str, str]) -> None:
    pool_id = guest_pool["pool_id"]
    admin("cognito-identity").update_identity_pool(
        IdentityPoolId=pool_id, IdentityPoolName="enhanced only", AllowUnauthenticatedIdentities=True
    )
    identity_id = public.get_id(IdentityPoolId=pool_id)["IdentityId"]
    with pytest.raises(ClientError) as exc:
        public.get_open_id_token(IdentityId=identity_id)
    assert _error(exc) == (
        "InvalidParameterException",
        "Basic (classic) flow is not enabled, please use enhanced flow.",
    )


def test_forged_open_id_tokens_are_refused(public: Any, public_sts: Any, guest_pool: dict[str, str]) -> None:
    identity_id = public.get_id(IdentityPoolId=guest_pool["pool_id"])["IdentityId"]
    token = public.get_open_id_token(IdentityId=identity_id)["Token"]
    head, body, signature = token.split(".")
    for forged in (f"{head}.{body}.{signature[:-6]}AAAAAA", "not-a-jwt"):
        with pytest.raises(ClientError) as exc:
            public_sts.assume_role_with_web_identity(
                RoleArn=guest_pool["role_arn"], RoleSessionName="forged", WebIdentityToken=forged
            )
        assert _error(exc)[0] == "InvalidIdentityToken"


def test_credentials_and_tokens_expire_by_the_server_clock(
    server: ServerThread,
    public: Any,
    public_sts: Any,
    client_for: ClientFactory,
    guest_pool: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    identity_id, creds = _guest_credentials(public, guest_pool["pool_id"])
    token = public.get_open_id_token(IdentityId=identity_id)["Token"]
    sts = _signed(client_for, "sts", creds)
    guest = _signed(client_for, "cognito-identity", creds)
    sts.get_caller_identity()
    try:
        server.clock.advance(timedelta(minutes=11))
        shift_client_clock(monkeypatch, timedelta(minutes=11))
        with pytest.raises(ClientError) as exc:
            public_sts.assume_role_with_web_identity(
                RoleArn=guest_pool["role_arn"], RoleSessionName="late", WebIdentityToken=token
            )
        assert _error(exc)[0] == "ExpiredTokenException"
        assert sts.get_caller_identity()["Arn"].endswith("/CognitoIdentityCredentials")

        server.clock.advance(timedelta(minutes=50))
        shift_client_clock(monkeypatch, timedelta(minutes=50))  # on top of the first shift
        with pytest.raises(ClientError) as exc:
            sts.get_caller_identity()
        assert _error(exc) == ("ExpiredToken", "The security token included in the request is expired")
        with pytest.raises(ClientError) as exc:
            guest.describe_identity_pool(IdentityPoolId=guest_pool["pool_id"])
        assert _error(exc)[0] == "ExpiredTokenException"
        # A fresh GetCredentialsForIdentity works again.
        _, fresh = _guest_credentials(public, guest_pool["pool_id"])
        assert _signed(client_for, "sts", fresh).get_caller_identity()["Account"] == ACCOUNT
    finally:
        server.clock.advance(timedelta(minutes=-61))
