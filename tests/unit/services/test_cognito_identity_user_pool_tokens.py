"""Checking user pool ID tokens presented in Logins: signature, issuer, audience, use, expiry, sign-out."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import jwt
import pytest

from bastion.clock import OffsetClock
from bastion.services.cognito_identity.user_pool_tokens import UserPoolIdTokens, user_pool_of
from bastion.services.errors import NotAuthorizedError

from .cognito_identity_fakes import CLIENT, PROVIDER, USER_POOL, FakeUserPools, id_token, rsa_key


def verifier(directory: FakeUserPools | None = None, clock: OffsetClock | None = None) -> UserPoolIdTokens:
    return UserPoolIdTokens(directory or FakeUserPools(), clock or OffsetClock())


async def check(tokens: UserPoolIdTokens, token: str, *, server_side: bool = False) -> dict[str, object]:
    return await tokens.verify(PROVIDER, token, {CLIENT}, lambda _client: server_side)


def _refused(match: str) -> Any:
    return pytest.raises(NotAuthorizedError, match=match)


def test_the_user_pool_id_is_read_from_the_logins_key() -> None:
    assert user_pool_of(PROVIDER) == USER_POOL
    assert user_pool_of("cognito-idp.us-east-1.amazonaws.com/") is None
    assert user_pool_of("accounts.google.com") is None


async def test_a_valid_id_token_gives_its_claims() -> None:
    claims = await check(verifier(), id_token("user-1", email="a@example.com"))
    assert claims["sub"] == "user-1"
    assert claims["email"] == "a@example.com"


async def test_a_token_signed_by_another_key_is_refused() -> None:
    forged = id_token("user-1", key_name="attacker")
    # Same kid as the pool's key, different key: the signature cannot verify.
    header = {"kid": "kid-pool-key", "alg": "RS256"}
    body = jwt.decode(forged, options={"verify_signature": False})
    forged_same_kid = jwt.encode(body, rsa_key("attacker"), algorithm="RS256", headers=header)
    for token in (forged, forged_same_kid):
        with _refused("Couldn't verify signed token"):
            await check(verifier(), token)


async def test_a_tampered_payload_is_refused() -> None:
    head, body, signature = id_token("user-1").split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims["sub"] = "someone-else"
    forged_body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with _refused("Couldn't verify signed token"):
        await check(verifier(), f"{head}.{forged_body}.{signature}")


async def test_unsigned_and_symmetric_algorithms_are_refused() -> None:
    body = jwt.decode(id_token("user-1"), options={"verify_signature": False})
    unsigned = jwt.encode(body, None, algorithm="none", headers={"kid": "kid-pool-key"})  # type: ignore[arg-type]
    hmac = jwt.encode(body, "x" * 32, algorithm="HS256", headers={"kid": "kid-pool-key"})
    for token in (unsigned, hmac):
        with _refused("Couldn't verify signed token"):
            await check(verifier(), token)


async def test_garbage_is_not_a_token() -> None:
    with _refused("Not a valid OpenId Connect identity token"):
        await check(verifier(), "not-a-jwt")


async def test_expiry_follows_the_server_clock() -> None:
    clock = OffsetClock()
    tokens = verifier(clock=clock)
    token = id_token("user-1", lifetime=600)
    await check(tokens, token)
    clock.advance(timedelta(seconds=601))
    with _refused(r"Invalid login token. Token expired: \d+ >= \d+"):
        await check(tokens, token)


async def test_a_token_of_another_user_pool_is_refused_as_an_issuer_mismatch() -> None:
    directory = FakeUserPools(pools={USER_POOL: "pool-key", "us-east-1_Other": "other-key"})
    token = id_token("user-1", user_pool="us-east-1_Other", key_name="other-key")
    with _refused("Issuer doesn't match providerName"):
        await check(verifier(directory), token)


async def test_an_unknown_user_pool_cannot_verify() -> None:
    with _refused("Couldn't verify signed token"):
        await check(verifier(FakeUserPools(pools={})), id_token("user-1"))


async def test_the_audience_must_be_a_configured_app_client() -> None:
    with _refused("Token is not from a supported provider of this identity pool"):
        await check(verifier(), id_token("user-1", client_id="other-client"))


async def test_access_tokens_are_refused() -> None:
    access = id_token("user-1", aud=None, token_use="access", client_id=CLIENT)
    with _refused("Missing a required claim: aud"):
        await check(verifier(), access)
    with _refused("Not an ID token"):
        await check(verifier(), id_token("user-1", token_use="access"))


async def test_signed_out_users_are_refused_only_with_server_side_token_check() -> None:
    directory = FakeUserPools(signed_out={"user-1"})
    tokens = verifier(directory)
    assert (await check(tokens, id_token("user-1")))["sub"] == "user-1"
    assert directory.checked == []
    with _refused("signed out"):
        await check(tokens, id_token("user-1"), server_side=True)
    assert (await check(tokens, id_token("user-2"), server_side=True))["sub"] == "user-2"
