"""Identity pools with real user pool tokens: sign in through the cognito-idp API, trade the ID token for
identity pool credentials, all through real boto3 clients against a started server."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

from bastion.testing.server import ServerThread

from .conftest import ACCOUNT, REGION, ClientFactory

PASSWORD = "Correct-Horse-9!"


def _error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = exc.value.response["Error"]
    return error["Code"], error["Message"]


def _trust(pool_id: str, amr: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": "cognito-identity.amazonaws.com"},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {
                        "StringEquals": {"cognito-identity.amazonaws.com:aud": pool_id},
                        "ForAnyValue:StringLike": {"cognito-identity.amazonaws.com:amr": amr},
                    },
                }
            ],
        }
    )


def _unsigned(server: ServerThread, service: str) -> Any:
    return boto3.session.Session(region_name=REGION).client(
        service, endpoint_url=server.endpoint_url, config=Config(signature_version=UNSIGNED)
    )


class UserPool:
    """A user pool with one app client, and users signed in through InitiateAuth."""

    def __init__(self, admin: Callable[[str], Any], server: ServerThread, name: str) -> None:
        self.idp = admin("cognito-idp")
        self.public = _unsigned(server, "cognito-idp")
        self.id = self.idp.create_user_pool(PoolName=name)["UserPool"]["Id"]
        self.client_id = self.idp.create_user_pool_client(
            UserPoolId=self.id,
            ClientName="app",
            ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        )["UserPoolClient"]["ClientId"]
        self.provider = f"cognito-idp.{REGION}.amazonaws.com/{self.id}"

    def user(self, name: str, email: str) -> dict[str, str]:
        """Create a confirmed user and sign in: the AuthenticationResult (IdToken, AccessToken, …)."""
        self.idp.admin_create_user(
            UserPoolId=self.id,
            Username=name,
            UserAttributes=[{"Name": "email", "Value": email}],
            MessageAction="SUPPRESS",
        )
        self.idp.admin_set_user_password(UserPoolId=self.id, Username=name, Password=PASSWORD, Permanent=True)
        return self.sign_in(name)

    def sign_in(self, name: str) -> dict[str, str]:
        result: dict[str, str] = self.public.initiate_auth(
            ClientId=self.client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": name, "PASSWORD": PASSWORD},
        )["AuthenticationResult"]
        return result


@pytest.fixture(scope="module")
def user_pool(server: ServerThread, admin: Callable[[str], Any]) -> UserPool:
    return UserPool(admin, server, "identity-pool-users")


@pytest.fixture(scope="module")
def public(server: ServerThread) -> Any:
    return _unsigned(server, "cognito-identity")


@pytest.fixture
def pool(admin: Callable[[str], Any], user_pool: UserPool, unique: str) -> Iterator[dict[str, str]]:
    ci, iam = admin("cognito-identity"), admin("iam")
    pool_id = ci.create_identity_pool(
        IdentityPoolName=unique,
        AllowUnauthenticatedIdentities=False,
        CognitoIdentityProviders=[
            {
                "ProviderName": user_pool.provider,
                "ClientId": user_pool.client_id,
                "ServerSideTokenCheck": True,
            }
        ],
    )["IdentityPoolId"]
    role = f"users-{unique}"
    arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=_trust(pool_id, "authenticated"))["Role"][
        "Arn"
    ]
    ci.set_identity_pool_roles(IdentityPoolId=pool_id, Roles={"authenticated": arn})
    yield {"pool_id": pool_id, "role": role, "role_arn": arn}


def _credentials(public: Any, pool_id: str, logins: dict[str, str]) -> tuple[str, dict[str, Any]]:
    identity_id = public.get_id(IdentityPoolId=pool_id, Logins=logins)["IdentityId"]
    response = public.get_credentials_for_identity(IdentityId=identity_id, Logins=logins)
    return identity_id, response["Credentials"]


def _arn(client_for: ClientFactory, creds: dict[str, Any]) -> str:
    sts = client_for("sts", creds["AccessKeyId"], creds["SecretKey"], creds["SessionToken"])
    return str(sts.get_caller_identity()["Arn"])


def test_a_signed_in_user_gets_a_stable_identity_and_the_authenticated_role(
    public: Any, client_for: ClientFactory, user_pool: UserPool, pool: dict[str, str]
) -> None:
    name = f"user-{uuid.uuid4().hex[:8]}"
    first = user_pool.user(name, f"{name}@example.com")
    logins = {user_pool.provider: first["IdToken"]}
    identity_id, creds = _credentials(public, pool["pool_id"], logins)
    assert (
        _arn(client_for, creds)
        == f"arn:aws:sts::{ACCOUNT}:assumed-role/{pool['role']}/CognitoIdentityCredentials"
    )
    # Signing in again (a new ID token) leads to the same identity.
    again = {user_pool.provider: user_pool.sign_in(name)["IdToken"]}
    assert public.get_id(IdentityPoolId=pool["pool_id"], Logins=again)["IdentityId"] == identity_id
    other = f"user-{uuid.uuid4().hex[:8]}"
    someone = {user_pool.provider: user_pool.user(other, f"{other}@example.com")["IdToken"]}
    assert public.get_id(IdentityPoolId=pool["pool_id"], Logins=someone)["IdentityId"] != identity_id


def test_access_tokens_foreign_pools_and_tampering_are_refused(
    admin: Callable[[str], Any], server: ServerThread, public: Any, user_pool: UserPool, pool: dict[str, str]
) -> None:
    name = f"user-{uuid.uuid4().hex[:8]}"
    tokens = user_pool.user(name, f"{name}@example.com")
    with pytest.raises(ClientError) as exc:
        public.get_id(IdentityPoolId=pool["pool_id"], Logins={user_pool.provider: tokens["AccessToken"]})
    assert _error(exc) == ("NotAuthorizedException", "Invalid login token. Missing a required claim: aud")

    head, body, signature = tokens["IdToken"].split(".")
    with pytest.raises(ClientError) as exc:
        public.get_id(
            IdentityPoolId=pool["pool_id"],
            Logins={user_pool.provider: f"{head}.{body}.{signature[:-6]}AAAAAA"},
        )
    assert _error(exc) == ("NotAuthorizedException", "Invalid login token. Couldn't verify signed token.")

    elsewhere = UserPool(admin, server, f"other-{uuid.uuid4().hex[:6]}")
    stranger = elsewhere.user(name, f"{name}@example.com")["IdToken"]
    with pytest.raises(ClientError) as exc:  # a pool the identity pool does not list
        public.get_id(IdentityPoolId=pool["pool_id"], Logins={elsewhere.provider: stranger})
    assert _error(exc) == (
        "NotAuthorizedException",
        "Token is not from a supported provider of this identity pool.",
    )
    with pytest.raises(ClientError) as exc:  # its token under the listed pool's name
        public.get_id(IdentityPoolId=pool["pool_id"], Logins={user_pool.provider: stranger})
    assert _error(exc) == ("NotAuthorizedException", "Invalid login token. Issuer doesn't match providerName")


def test_signed_out_and_disabled_users_are_refused(
    admin: Callable[[str], Any], public: Any, user_pool: UserPool, pool: dict[str, str]
) -> None:
    idp = admin("cognito-idp")
    name = f"user-{uuid.uuid4().hex[:8]}"
    tokens = user_pool.user(name, f"{name}@example.com")
    logins = {user_pool.provider: tokens["IdToken"]}
    identity_id, _ = _credentials(public, pool["pool_id"], logins)
    user_pool.public.global_sign_out(AccessToken=tokens["AccessToken"])
    with pytest.raises(ClientError) as exc:
        public.get_credentials_for_identity(IdentityId=identity_id, Logins=logins)
    assert _error(exc)[0] == "NotAuthorizedException"
    # Signing in again works, until the user is disabled.
    fresh = {user_pool.provider: user_pool.sign_in(name)["IdToken"]}
    assert (
        public.get_credentials_for_identity(IdentityId=identity_id, Logins=fresh)["IdentityId"] == identity_id
    )
    idp.admin_disable_user(UserPoolId=user_pool.id, Username=name)
    with pytest.raises(ClientError) as exc:
        public.get_credentials_for_identity(IdentityId=identity_id, Logins=fresh)
    assert _error(exc)[0] == "NotAuthorizedException"


def test_expired_id_tokens_are_refused(
    server: ServerThread, public: Any, user_pool: UserPool, pool: dict[str, str]
) -> None:
    name = f"user-{uuid.uuid4().hex[:8]}"
    logins = {user_pool.provider: user_pool.user(name, f"{name}@example.com")["IdToken"]}
    public.get_id(IdentityPoolId=pool["pool_id"], Logins=logins)
    try:
        server.clock.advance(timedelta(hours=1, seconds=1))
        with pytest.raises(ClientError) as exc:
            public.get_id(IdentityPoolId=pool["pool_id"], Logins=logins)
        code, message = _error(exc)
        assert code == "NotAuthorizedException" and message.startswith("Invalid login token. Token expired: ")
    finally:
        server.clock.advance(-timedelta(hours=1, seconds=1))


def test_rules_on_user_pool_claims_choose_the_role(
    admin: Callable[[str], Any],
    public: Any,
    client_for: ClientFactory,
    user_pool: UserPool,
    pool: dict[str, str],
    unique: str,
) -> None:
    ci, iam = admin("cognito-identity"), admin("iam")
    staff = iam.create_role(
        RoleName=f"staff-{unique}", AssumeRolePolicyDocument=_trust(pool["pool_id"], "authenticated")
    )
    ci.set_identity_pool_roles(
        IdentityPoolId=pool["pool_id"],
        Roles={"authenticated": pool["role_arn"]},
        RoleMappings={
            f"{user_pool.provider}:{user_pool.client_id}": {
                "Type": "Rules",
                "AmbiguousRoleResolution": "AuthenticatedRole",
                "RulesConfiguration": {
                    "Rules": [
                        {
                            "Claim": "email",
                            "MatchType": "Contains",
                            "Value": "@staff.example",
                            "RoleARN": staff["Role"]["Arn"],
                        }
                    ]
                },
            }
        },
    )
    worker = f"w-{uuid.uuid4().hex[:8]}"
    visitor = f"v-{uuid.uuid4().hex[:8]}"
    _, creds = _credentials(
        public,
        pool["pool_id"],
        {user_pool.provider: user_pool.user(worker, f"{worker}@staff.example")["IdToken"]},
    )
    assert _arn(client_for, creds).split("/")[1] == f"staff-{unique}"
    _, creds = _credentials(
        public,
        pool["pool_id"],
        {user_pool.provider: user_pool.user(visitor, f"{visitor}@example.com")["IdToken"]},
    )
    assert _arn(client_for, creds).split("/")[1] == pool["role"]
