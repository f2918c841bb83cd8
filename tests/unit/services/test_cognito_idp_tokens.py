"""Token claim sets, verify_id_token (for identity pools), access-token operations and revocation."""

from __future__ import annotations

import re
from typing import Any

import jwt
import pytest

from bastion.services.cognito_idp.errors import (
    InvalidPasswordError,
    UnauthorizedError,
    UnsupportedOperationError,
    UnsupportedTokenTypeError,
)
from bastion.services.cognito_idp.settings import SchemaAttribute, TokenValidity
from bastion.services.errors import NotAuthorizedError
from tests.unit.services.cognito_idp_fixtures import PASSWORD, REGION, Harness, harness


@pytest.fixture
async def h() -> Harness:
    return harness()


async def _signed_in(h: Harness, **client_settings: Any) -> tuple[str, str, str, str, str, str | None]:
    """pool, client, sub, access token, id token, refresh token"""
    pool = await h.pool(username_attributes=("email",))
    client, _ = await h.client(pool, **client_settings)
    sub = await h.confirmed_user(pool, "tara@example.com", {"email_verified": "true", "name": "Tara"})
    tokens = (await h.password_sign_in(client, "tara@example.com")).tokens
    assert tokens is not None
    return pool, client, sub, tokens.access_token, tokens.id_token, tokens.refresh_token


async def test_claim_sets_follow_aws(h: Harness) -> None:
    pool = await h.pool(username_attributes=("email",), schema=(SchemaAttribute("plan"),))
    client, _ = await h.client(pool)
    sub = await h.confirmed_user(pool, "tara@example.com", {"email_verified": "true", "custom:plan": "pro"})
    tokens = (await h.password_sign_in(client, "tara@example.com")).tokens
    assert tokens is not None and tokens.expires_in == 3600 and tokens.token_type == "Bearer"
    issuer = f"https://cognito-idp.{REGION}.amazonaws.com/{pool}"
    id_claims = jwt.decode(tokens.id_token, options={"verify_signature": False})
    access = jwt.decode(tokens.access_token, options={"verify_signature": False})
    assert id_claims["iss"] == access["iss"] == issuer
    assert id_claims["token_use"] == "id" and access["token_use"] == "access"
    assert id_claims["aud"] == client and "aud" not in access and access["client_id"] == client
    assert (
        id_claims["cognito:username"] == sub
        and access["username"] == sub
        and "cognito:username" not in access
    )
    assert id_claims["email"] == "tara@example.com" and id_claims["email_verified"] is True
    assert id_claims["custom:plan"] == "pro"
    assert access["scope"] == "aws.cognito.signin.user.admin"
    assert id_claims["exp"] - id_claims["iat"] == 3600
    assert id_claims["origin_jti"] == access["origin_jti"] and id_claims["jti"] != access["jti"]
    for claims in (id_claims, access):
        assert {"sub", "iss", "exp", "iat", "jti", "origin_jti", "event_id", "auth_time"} <= set(claims)
    header = jwt.get_unverified_header(tokens.id_token)
    assert set(header) == {"alg", "kid"} and header["alg"] == "RS256"


async def test_verify_id_token_for_identity_pools(h: Harness) -> None:
    pool, client, sub, access, id_token, _ = await _signed_in(h)
    claims = await h.svc.verify_id_token(id_token, pool_id=pool, client_ids=[client])
    assert claims["sub"] == sub
    assert (await h.svc.verify_id_token(id_token, pool_id=pool, client_ids=()))["aud"] == client
    with pytest.raises(NotAuthorizedError, match="Incorrect token audience"):
        await h.svc.verify_id_token(id_token, pool_id=pool, client_ids=["someotherclient"])
    with pytest.raises(NotAuthorizedError, match="Invalid login token"):
        await h.svc.verify_id_token(access, pool_id=pool, client_ids=[client])  # an access token
    other = await h.pool()
    with pytest.raises(NotAuthorizedError, match="Invalid login token"):
        await h.svc.verify_id_token(id_token, pool_id=other, client_ids=[client])
    forged = id_token[:-4] + ("AAAA" if not id_token.endswith("AAAA") else "BBBB")
    with pytest.raises(NotAuthorizedError, match="Invalid login token"):
        await h.svc.verify_id_token(forged, pool_id=pool, client_ids=[client])
    await h.svc.account.global_sign_out(access)
    assert await h.svc.verify_id_token(id_token, pool_id=pool, client_ids=[client])  # not checked by default
    with pytest.raises(NotAuthorizedError, match="revoked"):
        await h.svc.verify_id_token(id_token, pool_id=pool, client_ids=[client], check_revocation=True)
    h.clock.advance(hours=1)
    with pytest.raises(NotAuthorizedError, match="Token expired"):
        await h.svc.verify_id_token(id_token, pool_id=pool, client_ids=[client])


async def test_provider_names(h: Harness) -> None:
    pool = await h.pool()
    assert h.svc.provider_name(pool) == f"cognito-idp.{REGION}.amazonaws.com/{pool}"
    assert h.svc.pool_for_provider(h.svc.provider_name(pool)) == pool
    assert h.svc.pool_for_provider(h.svc.issuer(pool)) == pool
    assert h.svc.pool_for_provider("accounts.google.com") is None


async def test_access_token_operations(h: Harness) -> None:
    pool, client, sub, access, _, _ = await _signed_in(h)
    user, readable = await h.svc.account.get_user(access)
    assert user.sub == sub and "email" in readable
    deliveries = await h.svc.account.update_user_attributes(access, {"name": "T."})
    assert deliveries == []
    with pytest.raises(NotAuthorizedError, match="unauthorized attribute"):
        await h.svc.account.update_user_attributes(access, {"email_verified": "true"})
    with pytest.raises(InvalidPasswordError):
        await h.svc.account.change_password(access, PASSWORD, "weak")
    with pytest.raises(NotAuthorizedError, match=re.escape("Incorrect username or password.")):
        await h.svc.account.change_password(access, "Wr0ng-Password", "N3w-Password")
    await h.svc.account.change_password(access, PASSWORD, "N3w-Password")
    assert (await h.password_sign_in(client, "tara@example.com", "N3w-Password")).tokens is not None
    await h.svc.account.delete_user(access)
    with pytest.raises(NotAuthorizedError, match=re.escape("User does not exist.")):
        await h.svc.account.get_user(access)
    assert await h.store.cognito_idp.get_user(pool, sub) is None


async def test_email_change_sends_a_verification_code(h: Harness) -> None:
    pool = await h.pool(auto_verified_attributes=("email",))
    client, _ = await h.client(pool)
    await h.confirmed_user(pool, "uma", {"email": "uma@example.com", "email_verified": "true"})
    access = (await h.password_sign_in(client, "uma")).tokens
    assert access is not None
    deliveries = await h.svc.account.update_user_attributes(access.access_token, {"email": "new@example.com"})
    assert [(d.destination, d.attribute) for d in deliveries] == [("n***@e***", "email")]
    user, _ = await h.svc.account.get_user(access.access_token)
    assert user.attributes["email"] == "new@example.com" and user.attributes["email_verified"] == "false"
    await h.svc.account.verify_user_attribute(
        access.access_token, "email", h.sender.last_code("new@example.com")
    )
    user, _ = await h.svc.account.get_user(access.access_token)
    assert user.attributes["email_verified"] == "true"


async def test_expired_and_forged_access_tokens(h: Harness) -> None:
    _, _, _, access, id_token, _ = await _signed_in(h, access_token_validity=TokenValidity(5, "minutes"))
    with pytest.raises(NotAuthorizedError, match="Invalid Access Token"):
        await h.svc.account.get_user(id_token)
    with pytest.raises(NotAuthorizedError, match="Invalid Access Token"):
        await h.svc.account.get_user("not.a.jwt")
    h.clock.advance(minutes=5)
    with pytest.raises(NotAuthorizedError, match="Access Token has expired"):
        await h.svc.account.get_user(access)


async def test_global_sign_out_and_admin_sign_out(h: Harness) -> None:
    pool, client, _, access, _, refresh = await _signed_in(h)
    second = (await h.password_sign_in(client, "tara@example.com")).tokens
    assert second is not None and refresh is not None
    await h.svc.account.global_sign_out(access)
    for token in (access, second.access_token):
        with pytest.raises(NotAuthorizedError, match="Access Token has been revoked"):
            await h.svc.account.get_user(token)
    third = (await h.password_sign_in(client, "tara@example.com")).tokens
    assert third is not None
    await h.svc.users.admin_user_global_sign_out(pool, "tara@example.com")
    with pytest.raises(NotAuthorizedError, match="revoked"):
        await h.svc.account.get_user(third.access_token)


async def test_revoke_token(h: Harness) -> None:
    pool, client, _, access, id_token, refresh = await _signed_in(h)
    assert refresh is not None
    other = (await h.password_sign_in(client, "tara@example.com")).tokens
    assert other is not None
    for jwt_token in (access, id_token):
        with pytest.raises(UnsupportedTokenTypeError):
            await h.svc.account.revoke_token(client, jwt_token, None)
    foreign, _ = await h.client(pool)
    with pytest.raises(UnauthorizedError):
        await h.svc.account.revoke_token(foreign, refresh, None)
    await h.svc.account.revoke_token(client, refresh, None)
    await h.svc.account.revoke_token(client, "unknown-token", None)  # RFC 7009: nothing to do
    with pytest.raises(NotAuthorizedError, match="revoked"):
        await h.svc.account.get_user(access)
    # Only that sign-in ended.
    assert (await h.svc.account.get_user(other.access_token))[0].username
    with pytest.raises(NotAuthorizedError, match="revoked"):
        await h.svc.signin.initiate(client, "REFRESH_TOKEN_AUTH", {"REFRESH_TOKEN": refresh})
    no_revocation, _ = await h.client(pool, enable_token_revocation=False)
    with pytest.raises(UnsupportedOperationError):
        await h.svc.account.revoke_token(no_revocation, refresh, None)
    secret_client, secret = await h.client(pool, secret=True)
    with pytest.raises(UnauthorizedError):
        await h.svc.account.revoke_token(secret_client, "x", "wrong-secret-value-123456")
    assert secret is not None
    await h.svc.account.revoke_token(secret_client, "x", secret)
