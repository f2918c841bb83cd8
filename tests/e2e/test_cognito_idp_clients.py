"""Real user-pool clients against a started server: pycognito (SRP, token verification against the JWKS
URL), amazon-cognito-identity-js (the SRP client inside Amplify, in Node) and a standard JWT library.

The server here publishes its own URL as the token issuer (``cognito_issuer_base``), because pycognito
checks ``iss`` against ``<endpoint>/<poolId>`` when an endpoint is given.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import jwt
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from pycognito import Cognito

from bastion.config import PORT_OFF, Settings
from bastion.testing.server import ServerThread, running_server

from .conftest import ACCOUNT, NO_RETRY, REGION

PASSWORD = "Correct-Horse-9!"
INTEROP = Path(__file__).resolve().parents[1] / "interop" / "srp"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def issuer_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    port = _free_port()
    settings = Settings(
        api_port=port,
        mqtt_port=PORT_OFF,
        mqtt_tls_port=PORT_OFF,
        api_tls_port=PORT_OFF,
        data_dir=tmp_path_factory.mktemp("bastion-issuer"),
        region=REGION,
        account_id=ACCOUNT,
        cognito_issuer_base=f"http://127.0.0.1:{port}",
    )
    with running_server(settings) as thread:
        yield thread


@pytest.fixture(scope="module")
def idp(issuer_server: ServerThread) -> Any:
    key, secret = issuer_server.admin_keys
    return boto3.client(
        "cognito-idp",
        endpoint_url=issuer_server.endpoint_url,
        region_name=REGION,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=NO_RETRY,
    )


@pytest.fixture(scope="module")
def pool(idp: Any) -> dict[str, str]:
    pool_id = idp.create_user_pool(
        PoolName="clients", AutoVerifiedAttributes=["email"], UsernameAttributes=["email"]
    )["UserPool"]["Id"]
    public_client = idp.create_user_pool_client(UserPoolId=pool_id, ClientName="spa")["UserPoolClient"][
        "ClientId"
    ]
    confidential = idp.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName="backend",
        GenerateSecret=True,
        ExplicitAuthFlows=["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_USER_PASSWORD_AUTH"],
    )["UserPoolClient"]
    return {
        "pool_id": pool_id,
        "client_id": public_client,
        "secret_client_id": confidential["ClientId"],
        "secret": confidential["ClientSecret"],
    }


def _user(idp: Any, pool_id: str) -> str:
    email = f"{uuid.uuid4().hex[:10]}@example.com"
    idp.admin_create_user(
        UserPoolId=pool_id,
        Username=email,
        UserAttributes=[{"Name": "email_verified", "Value": "true"}],
        MessageAction="SUPPRESS",
    )
    idp.admin_set_user_password(UserPoolId=pool_id, Username=email, Password=PASSWORD, Permanent=True)
    return email


def _pycognito(server: ServerThread, pool: dict[str, str], username: str, *, secret: bool = False) -> Cognito:
    return Cognito(
        pool["pool_id"],
        pool["secret_client_id"] if secret else pool["client_id"],
        username=username,
        client_secret=pool["secret"] if secret else None,
        boto3_client_kwargs={
            "endpoint_url": server.endpoint_url,
            "aws_access_key_id": "unused",
            "aws_secret_access_key": "unused",
            "config": Config(retries={"max_attempts": 1}),
        },
    )


def test_pycognito_srp_sign_in_verifies_tokens_against_the_jwks_url(
    issuer_server: ServerThread, idp: Any, pool: dict[str, str]
) -> None:
    email = _user(idp, pool["pool_id"])
    user = _pycognito(issuer_server, pool, email)
    user.authenticate(password=PASSWORD)  # SRP, then verify_token on both tokens via the JWKS URL
    assert user.id_claims["email"] == email and user.id_claims["aud"] == pool["client_id"]
    assert (
        user.access_claims["client_id"] == pool["client_id"] and user.access_claims["token_use"] == "access"
    )
    profile = user.get_user()
    assert profile.email == email
    user.renew_access_token()  # REFRESH_TOKEN_AUTH, verified again
    assert user.access_claims["origin_jti"] == user.id_claims["origin_jti"]
    user.change_password(PASSWORD, "Newer-Horse-9!")
    again = _pycognito(issuer_server, pool, email)
    again.authenticate(password="Newer-Horse-9!")
    access_token = again.access_token
    again.logout()  # GlobalSignOut (pycognito forgets its tokens; the server revokes them)
    with pytest.raises(ClientError, match="Access Token has been revoked"):
        again.client.get_user(AccessToken=access_token)


def test_pycognito_with_a_client_secret(issuer_server: ServerThread, idp: Any, pool: dict[str, str]) -> None:
    email = _user(idp, pool["pool_id"])
    user = _pycognito(issuer_server, pool, email, secret=True)
    user.authenticate(password=PASSWORD)
    assert user.id_claims["aud"] == pool["secret_client_id"]
    user.renew_access_token()


def test_pycognito_new_password_challenge(
    issuer_server: ServerThread, idp: Any, pool: dict[str, str]
) -> None:
    email = f"{uuid.uuid4().hex[:10]}@example.com"
    idp.admin_create_user(
        UserPoolId=pool["pool_id"],
        Username=email,
        TemporaryPassword="Temp-Horse-9!",
        MessageAction="SUPPRESS",
    )
    user = _pycognito(issuer_server, pool, email)
    user.new_password_challenge("Temp-Horse-9!", PASSWORD)
    assert user.id_claims["email"] == email
    assert idp.admin_get_user(UserPoolId=pool["pool_id"], Username=email)["UserStatus"] == "CONFIRMED"


def test_a_standard_jwt_library_verifies_tokens_from_the_jwks_url(
    issuer_server: ServerThread, idp: Any, pool: dict[str, str]
) -> None:
    email = _user(idp, pool["pool_id"])
    tokens = _pycognito(issuer_server, pool, email)
    tokens.authenticate(password=PASSWORD)
    issuer = f"{issuer_server.endpoint_url}/{pool['pool_id']}"
    with urllib.request.urlopen(f"{issuer}/.well-known/openid-configuration") as response:  # noqa: S310 (http URL of the test server)
        discovery = json.loads(response.read())
    assert discovery["issuer"] == issuer and discovery["jwks_uri"] == f"{issuer}/.well-known/jwks.json"
    jwks = jwt.PyJWKClient(discovery["jwks_uri"])
    id_key = jwks.get_signing_key_from_jwt(tokens.id_token)
    access_key = jwks.get_signing_key_from_jwt(tokens.access_token)
    assert id_key.key_id != access_key.key_id
    claims = jwt.decode(
        tokens.id_token, id_key.key, algorithms=["RS256"], audience=pool["client_id"], issuer=issuer
    )
    assert claims["token_use"] == "id" and claims["cognito:username"] == claims["sub"]
    access = jwt.decode(tokens.access_token, access_key.key, algorithms=["RS256"], issuer=issuer)
    assert access["username"] == claims["sub"] and "aud" not in access
    with pytest.raises(jwt.InvalidSignatureError):  # each token only verifies with its own key
        jwt.decode(tokens.id_token, access_key.key, algorithms=["RS256"], audience=pool["client_id"])


# ---- amazon-cognito-identity-js ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def node() -> Callable[..., dict[str, Any]]:
    node_bin = shutil.which("node")
    if node_bin is None or not (INTEROP / "node_modules" / "amazon-cognito-identity-js").is_dir():
        pytest.skip("needs node and `npm ci --prefix tests/interop/srp`")

    def run(**request: Any) -> dict[str, Any]:
        done = subprocess.run(
            [node_bin, str(INTEROP / "cognito_flow.js")],
            input=json.dumps(request),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        answer: dict[str, Any] = json.loads(done.stdout)
        return answer

    return run


def test_amazon_cognito_identity_js_signs_up_confirms_and_signs_in(
    issuer_server: ServerThread, pool: dict[str, str], node: Callable[..., dict[str, Any]]
) -> None:
    base = {
        "endpoint": issuer_server.endpoint_url + "/",
        "poolId": pool["pool_id"],
        "clientId": pool["client_id"],
    }
    email = f"{uuid.uuid4().hex[:10]}@example.com"
    signed_up = node(op="signUp", username=email, password=PASSWORD, attributes={"email": email}, **base)
    assert signed_up["userConfirmed"] is False and signed_up["destination"] == f"{email[0]}***@e***"
    unconfirmed = node(op="signIn", username=email, password=PASSWORD, **base)
    assert unconfirmed["error"]["code"] == "UserNotConfirmedException"
    entries = issuer_server.call(issuer_server.server.services.cognito_idp.outbox(pool["pool_id"]))
    code = next(e.code for e in entries if e.destination == email)
    assert node(op="confirm", username=email, code=code, **base) == {"result": "SUCCESS"}

    tokens = node(op="signIn", username=email, password=PASSWORD, **base)
    assert "error" not in tokens, tokens
    claims = jwt.decode(tokens["idToken"], options={"verify_signature": False})
    assert claims["email"] == email and claims["email_verified"] is True
    assert tokens["username"] == claims["sub"]  # the library switches to USER_ID_FOR_SRP
    refreshed = node(op="refresh", username=tokens["username"], refreshToken=tokens["refreshToken"], **base)
    assert "error" not in refreshed, refreshed
    attributes = node(op="getAttributes", username=email, password=PASSWORD, **base)
    assert attributes["attributes"]["email"] == email

    wrong = node(op="signIn", username=email, password="Wrong-Horse-9!", **base)
    assert wrong["error"] == {"code": "NotAuthorizedException", "message": "Incorrect username or password."}
    unknown = node(op="signIn", username="nobody@example.com", password=PASSWORD, **base)
    assert unknown["error"]["code"] == "UserNotFoundException"


def test_amazon_cognito_identity_js_new_password_challenge(
    issuer_server: ServerThread, idp: Any, pool: dict[str, str], node: Callable[..., dict[str, Any]]
) -> None:
    base = {
        "endpoint": issuer_server.endpoint_url + "/",
        "poolId": pool["pool_id"],
        "clientId": pool["client_id"],
    }
    email = f"{uuid.uuid4().hex[:10]}@example.com"
    idp.admin_create_user(
        UserPoolId=pool["pool_id"],
        Username=email,
        TemporaryPassword="Temp-Horse-9!",
        MessageAction="SUPPRESS",
    )
    tokens = node(op="newPassword", username=email, password="Temp-Horse-9!", newPassword=PASSWORD, **base)
    assert "error" not in tokens, tokens
    assert node(op="signIn", username=email, password=PASSWORD, **base)["idToken"]
