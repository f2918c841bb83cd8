"""Cognito user pools through real boto3 clients against a started server: the whole user lifecycle,
AWS's error codes, unsigned end-user calls, IAM authorization of the admin calls, and the outbox."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
import requests
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

from bastion.auth import srp_client
from bastion.testing.server import ServerThread

from .conftest import ACCOUNT, REGION, ClientFactory

PASSWORD = "Correct-Horse-9!"


def _error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = exc.value.response["Error"]
    return error["Code"], error["Message"]


@pytest.fixture(scope="module")
def public(server: ServerThread) -> Any:
    """A cognito-idp client that signs nothing, as browsers and mobile apps call the end-user operations."""
    return boto3.session.Session(region_name=REGION).client(
        "cognito-idp", endpoint_url=server.endpoint_url, config=Config(signature_version=UNSIGNED)
    )


@pytest.fixture(scope="module")
def idp(admin: Callable[[str], Any]) -> Any:
    return admin("cognito-idp")


def _outbox_code(server: ServerThread, pool_id: str, destination: str) -> str:
    entries = server.call(server.server.services.cognito_idp.outbox(pool_id))
    for entry in entries:
        if entry.destination == destination:
            return str(entry.code)
    raise AssertionError(f"no code for {destination} in the outbox")


@pytest.fixture
def pool(idp: Any, unique: str) -> dict[str, str]:
    pool_id = idp.create_user_pool(
        PoolName=f"users-{unique}",
        UsernameAttributes=["email"],
        AutoVerifiedAttributes=["email"],
        Schema=[{"Name": "tier", "AttributeDataType": "String", "Mutable": True}],
    )["UserPool"]["Id"]
    client_id = idp.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName="app",
        ExplicitAuthFlows=[
            "ALLOW_USER_PASSWORD_AUTH",
            "ALLOW_USER_SRP_AUTH",
            "ALLOW_REFRESH_TOKEN_AUTH",
            "ALLOW_ADMIN_USER_PASSWORD_AUTH",
        ],
    )["UserPoolClient"]["ClientId"]
    return {"pool_id": pool_id, "client_id": client_id}


def test_pool_and_client_administration(idp: Any, unique: str) -> None:
    created = idp.create_user_pool(
        PoolName=f"admin-{unique}",
        Policies={"PasswordPolicy": {"MinimumLength": 10, "RequireSymbols": False}},
        AliasAttributes=["email"],
        UserPoolTags={"team": "iot"},
    )["UserPool"]
    pool_id = created["Id"]
    assert pool_id.startswith(f"{REGION}_") and len(pool_id.split("_")[1]) == 9
    assert created["Arn"] == f"arn:aws:cognito-idp:{REGION}:{ACCOUNT}:userpool/{pool_id}"
    assert created["Policies"]["PasswordPolicy"]["MinimumLength"] == 10
    assert created["Policies"]["PasswordPolicy"]["RequireUppercase"] is False
    assert isinstance(created["CreationDate"], datetime)
    assert {"sub", "email", "email_verified"} <= {a["Name"] for a in created["SchemaAttributes"]}
    described = idp.describe_user_pool(UserPoolId=pool_id)["UserPool"]
    assert described["AliasAttributes"] == ["email"] and described["UserPoolTags"] == {"team": "iot"}
    assert described["MfaConfiguration"] == "OFF" and described["EstimatedNumberOfUsers"] == 0

    default_client = idp.create_user_pool_client(UserPoolId=pool_id, ClientName="default")["UserPoolClient"]
    assert sorted(default_client["ExplicitAuthFlows"]) == [
        "ALLOW_CUSTOM_AUTH",
        "ALLOW_REFRESH_TOKEN_AUTH",
        "ALLOW_USER_SRP_AUTH",
    ]
    assert default_client["RefreshTokenValidity"] == 30 and "ClientSecret" not in default_client
    secret_client = idp.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName="server",
        GenerateSecret=True,
        AccessTokenValidity=30,
        TokenValidityUnits={"AccessToken": "minutes"},
    )["UserPoolClient"]
    assert len(secret_client["ClientSecret"]) >= 24 and secret_client["AccessTokenValidity"] == 30
    fetched = idp.describe_user_pool_client(UserPoolId=pool_id, ClientId=secret_client["ClientId"])
    assert fetched["UserPoolClient"]["ClientSecret"] == secret_client["ClientSecret"]
    listed = idp.list_user_pool_clients(UserPoolId=pool_id, MaxResults=60)["UserPoolClients"]
    assert {c["ClientName"] for c in listed} == {"default", "server"}
    updated = idp.update_user_pool_client(
        UserPoolId=pool_id, ClientId=default_client["ClientId"], PreventUserExistenceErrors="ENABLED"
    )["UserPoolClient"]
    assert updated["PreventUserExistenceErrors"] == "ENABLED" and updated["ClientName"] == "default"
    with pytest.raises(ClientError) as exc:
        idp.create_user_pool_client(
            UserPoolId=pool_id,
            ClientName="bad",
            AccessTokenValidity=2,
            TokenValidityUnits={"AccessToken": "days"},
        )
    assert _error(exc)[0] == "InvalidParameterException"

    idp.update_user_pool(UserPoolId=pool_id, DeletionProtection="ACTIVE")
    with pytest.raises(ClientError) as exc:
        idp.delete_user_pool(UserPoolId=pool_id)
    assert _error(exc)[0] == "InvalidParameterException"
    idp.update_user_pool(UserPoolId=pool_id, DeletionProtection="INACTIVE")
    ids = [
        p["Id"]
        for page in idp.get_paginator("list_user_pools").paginate(MaxResults=1)
        for p in page["UserPools"]
    ]
    assert pool_id in ids
    idp.delete_user_pool_client(UserPoolId=pool_id, ClientId=secret_client["ClientId"])
    idp.delete_user_pool(UserPoolId=pool_id)
    with pytest.raises(ClientError) as exc:
        idp.describe_user_pool(UserPoolId=pool_id)
    assert _error(exc) == ("ResourceNotFoundException", f"User pool {pool_id} does not exist.")


def test_sign_up_confirm_sign_in_and_self_service(
    server: ServerThread, public: Any, idp: Any, pool: dict[str, str]
) -> None:
    pool_id, client_id = pool["pool_id"], pool["client_id"]
    email = f"{uuid.uuid4().hex[:8]}@example.com"
    signed_up = public.sign_up(
        ClientId=client_id,
        Username=email,
        Password=PASSWORD,
        UserAttributes=[{"Name": "email", "Value": email}, {"Name": "custom:tier", "Value": "gold"}],
    )
    assert signed_up["UserConfirmed"] is False
    assert signed_up["CodeDeliveryDetails"] == {
        "Destination": f"{email[0]}***@e***",
        "DeliveryMedium": "EMAIL",
        "AttributeName": "email",
    }
    with pytest.raises(ClientError) as exc:
        public.sign_up(ClientId=client_id, Username=email, Password=PASSWORD)
    assert _error(exc) == ("UsernameExistsException", "An account with the given email already exists.")
    with pytest.raises(ClientError) as exc:
        public.sign_up(ClientId=client_id, Username=f"x{email}", Password="short")
    assert _error(exc)[0] == "InvalidPasswordException"
    with pytest.raises(ClientError) as exc:
        public.initiate_auth(
            ClientId=client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": email, "PASSWORD": PASSWORD},
        )
    assert _error(exc) == ("UserNotConfirmedException", "User is not confirmed.")
    code = _outbox_code(server, pool_id, email)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    with pytest.raises(ClientError) as exc:
        public.confirm_sign_up(ClientId=client_id, Username=email, ConfirmationCode=wrong)
    assert _error(exc)[0] == "CodeMismatchException"
    public.confirm_sign_up(ClientId=client_id, Username=email, ConfirmationCode=code)

    with pytest.raises(ClientError) as exc:
        public.initiate_auth(
            ClientId=client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": email, "PASSWORD": "Wrong-Horse-9!"},
        )
    assert _error(exc) == ("NotAuthorizedException", "Incorrect username or password.")
    with pytest.raises(ClientError) as exc:
        public.initiate_auth(
            ClientId=client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": "nobody@example.com", "PASSWORD": PASSWORD},
        )
    assert _error(exc) == ("UserNotFoundException", "User does not exist.")

    tokens = public.initiate_auth(
        ClientId=client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": email, "PASSWORD": PASSWORD},
    )["AuthenticationResult"]
    assert tokens["TokenType"] == "Bearer" and tokens["ExpiresIn"] == 3600 and tokens["RefreshToken"]
    me = public.get_user(AccessToken=tokens["AccessToken"])
    attributes = {a["Name"]: a["Value"] for a in me["UserAttributes"]}
    assert attributes["email"] == email and attributes["email_verified"] == "true"
    assert attributes["custom:tier"] == "gold" and me["Username"] == attributes["sub"]

    public.update_user_attributes(
        AccessToken=tokens["AccessToken"], UserAttributes=[{"Name": "name", "Value": "Ann"}]
    )
    public.change_password(
        AccessToken=tokens["AccessToken"], PreviousPassword=PASSWORD, ProposedPassword="Newer-Horse-9!"
    )
    refreshed = public.initiate_auth(
        ClientId=client_id,
        AuthFlow="REFRESH_TOKEN_AUTH",
        AuthParameters={"REFRESH_TOKEN": tokens["RefreshToken"]},
    )["AuthenticationResult"]
    assert "RefreshToken" not in refreshed

    # Password recovery.
    delivery = public.forgot_password(ClientId=client_id, Username=email)["CodeDeliveryDetails"]
    assert delivery["DeliveryMedium"] == "EMAIL"
    reset_code = _outbox_code(server, pool_id, email)
    with pytest.raises(ClientError) as exc:
        public.confirm_forgot_password(
            ClientId=client_id, Username=email, ConfirmationCode=reset_code, Password="weak"
        )
    assert _error(exc)[0] == "InvalidPasswordException"
    public.confirm_forgot_password(
        ClientId=client_id, Username=email, ConfirmationCode=reset_code, Password="Third-Horse-9!"
    )
    again = public.initiate_auth(
        ClientId=client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": email, "PASSWORD": "Third-Horse-9!"},
    )["AuthenticationResult"]

    # Signing out everywhere revokes the access tokens on Cognito's own APIs, and the refresh tokens.
    public.global_sign_out(AccessToken=again["AccessToken"])
    for access in (tokens["AccessToken"], again["AccessToken"], refreshed["AccessToken"]):
        with pytest.raises(ClientError) as exc:
            public.get_user(AccessToken=access)
        assert _error(exc) == ("NotAuthorizedException", "Access Token has been revoked")
    with pytest.raises(ClientError) as exc:
        public.initiate_auth(
            ClientId=client_id,
            AuthFlow="REFRESH_TOKEN_AUTH",
            AuthParameters={"REFRESH_TOKEN": tokens["RefreshToken"]},
        )
    assert _error(exc)[0] == "NotAuthorizedException"

    last = public.initiate_auth(
        ClientId=client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": email, "PASSWORD": "Third-Horse-9!"},
    )["AuthenticationResult"]
    public.revoke_token(Token=last["RefreshToken"], ClientId=client_id)
    with pytest.raises(ClientError) as exc:
        public.get_user(AccessToken=last["AccessToken"])
    assert _error(exc)[0] == "NotAuthorizedException"
    final = public.initiate_auth(
        ClientId=client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": email, "PASSWORD": "Third-Horse-9!"},
    )["AuthenticationResult"]
    public.delete_user(AccessToken=final["AccessToken"])
    with pytest.raises(ClientError) as exc:
        idp.admin_get_user(UserPoolId=pool_id, Username=email)
    assert _error(exc) == ("UserNotFoundException", "User does not exist.")


def test_admin_user_lifecycle(public: Any, idp: Any, pool: dict[str, str]) -> None:
    pool_id, client_id = pool["pool_id"], pool["client_id"]
    email = f"{uuid.uuid4().hex[:8]}@example.com"
    user = idp.admin_create_user(
        UserPoolId=pool_id,
        Username=email,
        TemporaryPassword="Temp-Horse-9!",
        UserAttributes=[{"Name": "email_verified", "Value": "true"}],
        MessageAction="SUPPRESS",
    )["User"]
    assert user["UserStatus"] == "FORCE_CHANGE_PASSWORD" and user["Enabled"] is True
    with pytest.raises(ClientError) as exc:
        idp.admin_create_user(UserPoolId=pool_id, Username=email, MessageAction="SUPPRESS")
    assert _error(exc)[0] == "UsernameExistsException"

    challenge = public.initiate_auth(
        ClientId=client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": email, "PASSWORD": "Temp-Horse-9!"},
    )
    assert challenge["ChallengeName"] == "NEW_PASSWORD_REQUIRED" and len(challenge["Session"]) >= 20
    assert json.loads(challenge["ChallengeParameters"]["userAttributes"])["email"] == email
    done = public.respond_to_auth_challenge(
        ClientId=client_id,
        ChallengeName="NEW_PASSWORD_REQUIRED",
        Session=challenge["Session"],
        ChallengeResponses={
            "USERNAME": challenge["ChallengeParameters"]["USER_ID_FOR_SRP"],
            "NEW_PASSWORD": PASSWORD,
        },
    )
    assert done["AuthenticationResult"]["IdToken"]

    fetched = idp.admin_get_user(UserPoolId=pool_id, Username=email)
    assert fetched["UserStatus"] == "CONFIRMED" and fetched["Username"] == user["Username"]
    idp.admin_update_user_attributes(
        UserPoolId=pool_id, Username=email, UserAttributes=[{"Name": "custom:tier", "Value": "silver"}]
    )
    idp.admin_disable_user(UserPoolId=pool_id, Username=email)
    with pytest.raises(ClientError) as exc:
        public.get_user(AccessToken=done["AuthenticationResult"]["AccessToken"])
    assert _error(exc)[0] == "NotAuthorizedException"
    with pytest.raises(ClientError) as exc:
        public.initiate_auth(
            ClientId=client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": email, "PASSWORD": PASSWORD},
        )
    assert _error(exc) == ("NotAuthorizedException", "User is disabled.")
    idp.admin_enable_user(UserPoolId=pool_id, Username=email)
    idp.admin_set_user_password(UserPoolId=pool_id, Username=email, Password="Admin-Horse-9!", Permanent=True)
    admin_auth = idp.admin_initiate_auth(
        UserPoolId=pool_id,
        ClientId=client_id,
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": email, "PASSWORD": "Admin-Horse-9!"},
    )
    assert _error_free(admin_auth)
    idp.admin_user_global_sign_out(UserPoolId=pool_id, Username=email)

    for n in range(3):
        idp.admin_create_user(UserPoolId=pool_id, Username=f"list{n}-{email}", MessageAction="SUPPRESS")
    pages = idp.get_paginator("list_users").paginate(UserPoolId=pool_id, Filter='email ^= "list"', Limit=2)
    listed = [u for page in pages for u in page["Users"]]
    assert len(listed) == 3
    only = idp.list_users(UserPoolId=pool_id, Filter=f'email = "{email}"', AttributesToGet=["email"])["Users"]
    assert [u["Attributes"] for u in only] == [[{"Name": "email", "Value": email}]]
    with pytest.raises(ClientError) as exc:
        idp.list_users(UserPoolId=pool_id, Filter="email = unquoted")
    assert _error(exc) == ("InvalidParameterException", "Error while parsing filter.")
    idp.admin_delete_user(UserPoolId=pool_id, Username=email)


def _error_free(result: dict[str, Any]) -> bool:
    return "AuthenticationResult" in result and "ChallengeName" not in result


def test_srp_sign_in_over_http(public: Any, idp: Any, pool: dict[str, str]) -> None:
    pool_id, client_id = pool["pool_id"], pool["client_id"]
    email = f"{uuid.uuid4().hex[:8]}@example.com"
    idp.admin_create_user(UserPoolId=pool_id, Username=email, MessageAction="SUPPRESS")
    idp.admin_set_user_password(UserPoolId=pool_id, Username=email, Password=PASSWORD, Permanent=True)
    ephemeral = srp_client.new_ephemeral()
    started = public.initiate_auth(
        ClientId=client_id,
        AuthFlow="USER_SRP_AUTH",
        AuthParameters={"USERNAME": email, "SRP_A": ephemeral.srp_a_hex},
    )
    assert started["ChallengeName"] == "PASSWORD_VERIFIER" and "Session" not in started
    responses = srp_client.password_verifier_responses(
        ephemeral,
        pool_name=pool_id.split("_")[1],
        password=PASSWORD,
        challenge_parameters=started["ChallengeParameters"],
        now=datetime.now(UTC),
    )
    result = public.respond_to_auth_challenge(
        ClientId=client_id, ChallengeName="PASSWORD_VERIFIER", ChallengeResponses=responses
    )
    assert result["AuthenticationResult"]["AccessToken"]


def test_repeated_failures_lock_the_user_out(public: Any, idp: Any, pool: dict[str, str]) -> None:
    pool_id, client_id = pool["pool_id"], pool["client_id"]
    email = f"{uuid.uuid4().hex[:8]}@example.com"
    idp.admin_create_user(UserPoolId=pool_id, Username=email, MessageAction="SUPPRESS")
    idp.admin_set_user_password(UserPoolId=pool_id, Username=email, Password=PASSWORD, Permanent=True)

    def attempt(password: str) -> tuple[str, str]:
        with pytest.raises(ClientError) as exc:
            public.initiate_auth(
                ClientId=client_id,
                AuthFlow="USER_PASSWORD_AUTH",
                AuthParameters={"USERNAME": email, "PASSWORD": password},
            )
        return _error(exc)

    for _ in range(5):
        assert attempt("Wrong-Horse-9!") == ("NotAuthorizedException", "Incorrect username or password.")
    # The fifth failure locks for a second; the right password is refused too.
    assert attempt(PASSWORD) == ("NotAuthorizedException", "Password attempts exceeded")


def test_expired_code(server: ServerThread, public: Any, pool: dict[str, str]) -> None:
    pool_id, client_id = pool["pool_id"], pool["client_id"]
    email = f"{uuid.uuid4().hex[:8]}@example.com"
    public.sign_up(ClientId=client_id, Username=email, Password=PASSWORD)
    code = _outbox_code(server, pool_id, email)
    server.clock.advance(timedelta(hours=25))
    try:
        with pytest.raises(ClientError) as exc:
            public.confirm_sign_up(ClientId=client_id, Username=email, ConfirmationCode=code)
        assert _error(exc) == ("ExpiredCodeException", "Invalid code provided, please request a code again.")
    finally:
        server.clock.advance(timedelta(hours=-25))
    public.resend_confirmation_code(ClientId=client_id, Username=email)
    public.confirm_sign_up(
        ClientId=client_id, Username=email, ConfirmationCode=_outbox_code(server, pool_id, email)
    )


def test_secret_hash_clients(public: Any, idp: Any, pool: dict[str, str]) -> None:
    import base64
    import hashlib
    import hmac

    client = idp.create_user_pool_client(
        UserPoolId=pool["pool_id"],
        ClientName="confidential",
        GenerateSecret=True,
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"],
    )["UserPoolClient"]
    email = f"{uuid.uuid4().hex[:8]}@example.com"
    with pytest.raises(ClientError) as exc:
        public.sign_up(ClientId=client["ClientId"], Username=email, Password=PASSWORD)
    assert _error(exc) == (
        "NotAuthorizedException",
        f"Client {client['ClientId']} is configured for secret but secret was not received",
    )
    digest = hmac.new(
        client["ClientSecret"].encode(), (email + client["ClientId"]).encode(), hashlib.sha256
    ).digest()
    public.sign_up(
        ClientId=client["ClientId"],
        Username=email,
        Password=PASSWORD,
        SecretHash=base64.b64encode(digest).decode(),
    )
    with pytest.raises(ClientError) as exc:
        public.sign_up(ClientId=client["ClientId"], Username=email, Password=PASSWORD, SecretHash="d3JvbmcK")
    assert _error(exc)[0] == "NotAuthorizedException"


def test_admin_calls_are_signed_and_authorized(
    server: ServerThread,
    idp: Any,
    admin: Callable[[str], Any],
    client_for: ClientFactory,
    pool: dict[str, str],
    unique: str,
) -> None:
    iam = admin("iam")
    iam.create_user(UserName=f"ops-{unique}")
    key = iam.create_access_key(UserName=f"ops-{unique}")["AccessKey"]
    ops = client_for("cognito-idp", key["AccessKeyId"], key["SecretAccessKey"])
    with pytest.raises(ClientError) as exc:
        ops.list_users(UserPoolId=pool["pool_id"])
    assert _error(exc)[0] == "AccessDeniedException"
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "cognito-idp:ListUsers",
                "Resource": f"arn:aws:cognito-idp:{REGION}:{ACCOUNT}:userpool/{pool['pool_id']}",
            }
        ],
    }
    iam.put_user_policy(UserName=f"ops-{unique}", PolicyName="list", PolicyDocument=json.dumps(policy))
    assert ops.list_users(UserPoolId=pool["pool_id"])["Users"] == []
    with pytest.raises(ClientError) as exc:
        ops.admin_create_user(UserPoolId=pool["pool_id"], Username="x@example.com")
    assert _error(exc)[0] == "AccessDeniedException"
    # Unsigned admin calls are refused before anything else.
    unsigned = boto3.session.Session(region_name=REGION).client(
        "cognito-idp", endpoint_url=server.endpoint_url, config=Config(signature_version=UNSIGNED)
    )
    with pytest.raises(ClientError):
        unsigned.list_users(UserPoolId=pool["pool_id"])


def test_wire_errors_and_well_known_documents(server: ServerThread, pool: dict[str, str]) -> None:
    response = requests.post(
        server.endpoint_url,
        data=json.dumps({"ClientId": "nosuchclient", "AuthFlow": "USER_SRP_AUTH", "AuthParameters": {}}),
        headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": "AWSCognitoIdentityProviderService.InitiateAuth",
        },
        timeout=10,
    )
    assert response.status_code == 400
    assert response.json()["__type"] == "ResourceNotFoundException"
    assert response.headers["x-amzn-ErrorType"].startswith("ResourceNotFoundException")
    jwks = requests.get(f"{server.endpoint_url}/{pool['pool_id']}/.well-known/jwks.json", timeout=10)
    assert jwks.status_code == 200 and len(jwks.json()["keys"]) == 2
    config = requests.get(
        f"{server.endpoint_url}/{pool['pool_id']}/.well-known/openid-configuration", timeout=10
    ).json()
    assert config["issuer"] == f"https://cognito-idp.{REGION}.amazonaws.com/{pool['pool_id']}"
    assert config["jwks_uri"] == f"{server.endpoint_url}/{pool['pool_id']}/.well-known/jwks.json"
    missing = requests.get(f"{server.endpoint_url}/{REGION}_Missing99/.well-known/jwks.json", timeout=10)
    assert missing.status_code == 404
