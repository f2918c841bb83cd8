"""Signed-in users of identity pools through real boto3, with ID tokens of a stand-in user pool.

The stand-in (tests/unit/services/cognito_identity_fakes.FakeUserPools) publishes its own RSA keys as a
user pool's JWKS and signs ID tokens with AWS's claims; it is installed in the started server in place
of the server's user pools. test_cognito_identity_user_pools.py runs the same path with real user pool
tokens obtained through the cognito-idp API.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

from bastion.testing.server import ServerThread
from tests.unit.services.cognito_identity_fakes import FakeUserPools, id_token

from .conftest import ACCOUNT, REGION, ClientFactory

USER_POOL = "us-east-1_TestPool1"
PROVIDER = f"cognito-idp.{REGION}.amazonaws.com/{USER_POOL}"
CLIENT = "clientapp1"


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


@pytest.fixture(scope="module")
def user_pools(server: ServerThread) -> FakeUserPools:
    directory = FakeUserPools()
    services = server.server.services
    assert services is not None
    services.cognito_identity.use_user_pools(directory)
    return directory


@pytest.fixture(scope="module")
def public(server: ServerThread) -> Any:
    return boto3.session.Session(region_name=REGION).client(
        "cognito-identity", endpoint_url=server.endpoint_url, config=Config(signature_version=UNSIGNED)
    )


@pytest.fixture
def pool(admin: Any, unique: str, user_pools: FakeUserPools) -> Iterator[dict[str, str]]:
    """A pool of the stand-in user pool's app client, with roles for users and guests."""
    ci, iam = admin("cognito-identity"), admin("iam")
    pool_id = ci.create_identity_pool(
        IdentityPoolName=unique,
        AllowUnauthenticatedIdentities=True,
        CognitoIdentityProviders=[
            {"ProviderName": PROVIDER, "ClientId": CLIENT, "ServerSideTokenCheck": True}
        ],
    )["IdentityPoolId"]
    arns = {}
    for kind in ("authenticated", "unauthenticated"):
        name = f"{kind[:5]}-{unique}"
        arns[kind] = iam.create_role(RoleName=name, AssumeRolePolicyDocument=_trust(pool_id, kind))["Role"][
            "Arn"
        ]
    ci.set_identity_pool_roles(IdentityPoolId=pool_id, Roles=arns)
    yield {"pool_id": pool_id, **arns}


def _logins(sub: str, **claims: Any) -> dict[str, str]:
    return {PROVIDER: id_token(sub, **claims)}


def _caller(client_for: ClientFactory, creds: dict[str, Any]) -> dict[str, Any]:
    sts = client_for("sts", creds["AccessKeyId"], creds["SecretKey"], creds["SessionToken"])
    result: dict[str, Any] = sts.get_caller_identity()
    return result


def test_a_user_gets_a_stable_identity_and_authenticated_credentials(
    public: Any, client_for: ClientFactory, pool: dict[str, str]
) -> None:
    first = public.get_id(IdentityPoolId=pool["pool_id"], Logins=_logins("alice"))["IdentityId"]
    again = public.get_id(IdentityPoolId=pool["pool_id"], Logins=_logins("alice"))["IdentityId"]
    bob = public.get_id(IdentityPoolId=pool["pool_id"], Logins=_logins("bob"))["IdentityId"]
    assert first == again != bob
    response = public.get_credentials_for_identity(IdentityId=first, Logins=_logins("alice"))
    assert response["IdentityId"] == first
    role_name = pool["authenticated"].rsplit("/", 1)[1]
    assert _caller(client_for, response["Credentials"])["Arn"] == (
        f"arn:aws:sts::{ACCOUNT}:assumed-role/{role_name}/CognitoIdentityCredentials"
    )
    with pytest.raises(ClientError) as exc:
        public.get_credentials_for_identity(IdentityId=first)
    assert _error(exc) == ("NotAuthorizedException", f"Access to Identity '{first}' is forbidden.")
    with pytest.raises(ClientError) as exc:
        public.get_credentials_for_identity(IdentityId=first, Logins=_logins("bob"))
    assert _error(exc)[0] == "NotAuthorizedException"


def test_a_guest_signing_in_keeps_its_identity(
    public: Any, client_for: ClientFactory, pool: dict[str, str]
) -> None:
    guest = public.get_id(IdentityPoolId=pool["pool_id"])["IdentityId"]
    creds = public.get_credentials_for_identity(IdentityId=guest)["Credentials"]
    assert "/unaut-" in _caller(client_for, creds)["Arn"]
    upgraded = public.get_credentials_for_identity(IdentityId=guest, Logins=_logins("carol"))
    assert upgraded["IdentityId"] == guest
    assert "/authe-" in _caller(client_for, upgraded["Credentials"])["Arn"]
    assert public.get_id(IdentityPoolId=pool["pool_id"], Logins=_logins("carol"))["IdentityId"] == guest


def test_tampered_expired_foreign_and_signed_out_tokens_are_refused(
    server: ServerThread, public: Any, pool: dict[str, str], user_pools: FakeUserPools
) -> None:
    pool_id = pool["pool_id"]
    head, body, signature = id_token("dave").split(".")
    tampered = f"{head}.{body}.{signature[:-6]}AAAAAA"
    cases = {
        "Invalid login token. Couldn't verify signed token.": tampered,
        "Invalid login token. Issuer doesn't match providerName": id_token(
            "dave", user_pool="us-east-1_Other9"
        ),
        "Token is not from a supported provider of this identity pool.": id_token(
            "dave", client_id="otherapp"
        ),
    }
    for message, token in cases.items():
        with pytest.raises(ClientError) as exc:
            public.get_id(IdentityPoolId=pool_id, Logins={PROVIDER: token})
        assert _error(exc) == ("NotAuthorizedException", message)
    foreign = {
        f"cognito-idp.{REGION}.amazonaws.com/us-east-1_Other9": id_token("dave", user_pool="us-east-1_Other9")
    }
    with pytest.raises(ClientError) as exc:
        public.get_id(IdentityPoolId=pool_id, Logins=foreign)
    assert _error(exc) == (
        "NotAuthorizedException",
        "Token is not from a supported provider of this identity pool.",
    )

    erin = _logins("erin")
    identity_id = public.get_id(IdentityPoolId=pool_id, Logins=erin)["IdentityId"]
    user_pools.signed_out.add("erin")
    with pytest.raises(ClientError) as exc:
        public.get_credentials_for_identity(IdentityId=identity_id, Logins=erin)
    assert _error(exc)[0] == "NotAuthorizedException"
    user_pools.signed_out.discard("erin")
    try:
        server.clock.advance(timedelta(hours=1, seconds=1))
        with pytest.raises(ClientError) as exc:
            public.get_credentials_for_identity(IdentityId=identity_id, Logins=erin)
        assert _error(exc)[1].startswith("Invalid login token. Token expired: ")
    finally:
        server.clock.advance(-timedelta(hours=1, seconds=1))


def test_rules_mapping_chooses_roles_as_documented(
    admin: Any, public: Any, client_for: ClientFactory, pool: dict[str, str], unique: str
) -> None:
    ci, iam = admin("cognito-identity"), admin("iam")
    pool_id = pool["pool_id"]
    admins = iam.create_role(
        RoleName=f"admins-{unique}", AssumeRolePolicyDocument=_trust(pool_id, "authenticated")
    )
    editors = iam.create_role(
        RoleName=f"editors-{unique}", AssumeRolePolicyDocument=_trust(pool_id, "authenticated")
    )
    rules = [
        {
            "Claim": "cognito:groups",
            "MatchType": "Contains",
            "Value": "admin",
            "RoleARN": admins["Role"]["Arn"],
        },
        {
            "Claim": "custom:dept",
            "MatchType": "StartsWith",
            "Value": "edit",
            "RoleARN": editors["Role"]["Arn"],
        },
    ]
    ci.set_identity_pool_roles(
        IdentityPoolId=pool_id,
        Roles={"authenticated": pool["authenticated"], "unauthenticated": pool["unauthenticated"]},
        RoleMappings={
            f"{PROVIDER}:{CLIENT}": {
                "Type": "Rules",
                "AmbiguousRoleResolution": "Deny",
                "RulesConfiguration": {"Rules": rules},
            }
        },
    )

    def role_of(sub: str, **claims: Any) -> str:
        logins = _logins(sub, **claims)
        identity_id = public.get_id(IdentityPoolId=pool_id, Logins=logins)["IdentityId"]
        creds = public.get_credentials_for_identity(IdentityId=identity_id, Logins=logins)["Credentials"]
        return str(_caller(client_for, creds)["Arn"]).split("/")[1]

    assert (
        role_of("frank", **{"cognito:groups": ["admins"], "custom:dept": "editorial"}) == f"admins-{unique}"
    )
    assert role_of("gina", **{"custom:dept": "editorial"}) == f"editors-{unique}"
    with pytest.raises(ClientError) as exc:
        role_of("hank", **{"custom:dept": "sales"})
    assert _error(exc) == ("NotAuthorizedException", "The ambiguous role mapping rules denied this request.")


def test_token_mapping_uses_the_roles_in_the_token(
    admin: Any, public: Any, client_for: ClientFactory, pool: dict[str, str], unique: str
) -> None:
    ci, iam = admin("cognito-identity"), admin("iam")
    pool_id = pool["pool_id"]
    managers = iam.create_role(
        RoleName=f"managers-{unique}", AssumeRolePolicyDocument=_trust(pool_id, "authenticated")
    )["Role"]["Arn"]
    untrusting = iam.create_role(
        RoleName=f"untrusting-{unique}",
        AssumeRolePolicyDocument=_trust("us-east-1:0000-other", "authenticated"),
    )["Role"]["Arn"]
    ci.set_identity_pool_roles(
        IdentityPoolId=pool_id,
        Roles={"authenticated": pool["authenticated"]},
        RoleMappings={
            f"{PROVIDER}:{CLIENT}": {"Type": "Token", "AmbiguousRoleResolution": "AuthenticatedRole"}
        },
    )
    claims = {"cognito:roles": [managers, untrusting], "cognito:preferred_role": managers}
    logins = _logins("ivy", **claims)
    identity_id = public.get_id(IdentityPoolId=pool_id, Logins=logins)["IdentityId"]
    creds = public.get_credentials_for_identity(IdentityId=identity_id, Logins=logins)["Credentials"]
    assert _caller(client_for, creds)["Arn"].split("/")[1] == f"managers-{unique}"
    # A role the token offers but whose trust policy does not trust this pool.
    with pytest.raises(ClientError) as exc:
        public.get_credentials_for_identity(IdentityId=identity_id, Logins=logins, CustomRoleArn=untrusting)
    assert _error(exc)[0] == "InvalidIdentityPoolConfigurationException"
    # A role the token does not offer.
    with pytest.raises(ClientError) as exc:
        public.get_credentials_for_identity(
            IdentityId=identity_id, Logins=logins, CustomRoleArn=pool["unauthenticated"]
        )
    assert _error(exc)[0] == "NotAuthorizedException"
    # No preferred role: the default authenticated role.
    plain = _logins("jack", **{"cognito:roles": [managers, untrusting]})
    identity_id = public.get_id(IdentityPoolId=pool_id, Logins=plain)["IdentityId"]
    creds = public.get_credentials_for_identity(IdentityId=identity_id, Logins=plain)["Credentials"]
    assert _caller(client_for, creds)["Arn"].split("/")[1] == pool["authenticated"].rsplit("/", 1)[1]


def test_identities_list_their_logins_and_unlink(admin: Any, public: Any, pool: dict[str, str]) -> None:
    ci = admin("cognito-identity")
    logins = _logins("kate")
    identity_id = public.get_id(IdentityPoolId=pool["pool_id"], Logins=logins)["IdentityId"]
    assert ci.describe_identity(IdentityId=identity_id)["Logins"] == [PROVIDER]
    public.unlink_identity(IdentityId=identity_id, Logins=logins, LoginsToRemove=[PROVIDER])
    described = ci.describe_identity(IdentityId=identity_id)
    assert "Logins" not in described
    visible = ci.list_identities(IdentityPoolId=pool["pool_id"], MaxResults=60, HideDisabled=True)[
        "Identities"
    ]
    assert identity_id not in [i["IdentityId"] for i in visible]
    assert public.get_id(IdentityPoolId=pool["pool_id"], Logins=_logins("kate"))["IdentityId"] != identity_id
