"""The pools' OpenID tokens: claims, keys kept in storage, verification for STS, issuer dispatch."""

from __future__ import annotations

from datetime import timedelta

import jwt
import pytest

from bastion.clock import OffsetClock
from bastion.sealing import Sealer
from bastion.services.cognito_identity.openid import ISSUER, OpenIdTokens
from bastion.services.cognito_identity.web_identity import WebIdentityByIssuer
from bastion.services.errors import ExpiredTokenError, InvalidIdentityTokenError
from bastion.services.sts.service import NoWebIdentityProviders
from bastion.storage.memory_cognito_identity import MemoryCognitoIdentityRepository

from .cognito_identity_fakes import id_token, rsa_key

POOL = "us-east-1:11111111-2222-3333-4444-555555555555"
IDENTITY = "us-east-1:aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
POOL_ARN = f"arn:aws:cognito-identity:us-east-1:123456789012:identitypool/{POOL}"


def tokens(
    repo: MemoryCognitoIdentityRepository, key: bytes = b"k" * 32, clock: OffsetClock | None = None
) -> OpenIdTokens:
    return OpenIdTokens(repo, Sealer(key), clock or OffsetClock())


async def test_a_token_carries_the_identity_pool_and_sign_in_methods() -> None:
    issuer = tokens(MemoryCognitoIdentityRepository())
    token = await issuer.mint(IDENTITY, POOL, POOL_ARN, ("authenticated", "cognito-idp.x/y"))
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert header["alg"] == "RS512" and header["kid"]
    assert (claims["iss"], claims["sub"], claims["aud"]) == (ISSUER, IDENTITY, POOL)
    assert claims["amr"] == ["authenticated", "cognito-idp.x/y"]
    assert claims["exp"] - claims["iat"] == 600
    assert claims[f"{ISSUER}/identity-pool-arn"] == POOL_ARN
    verified = await issuer.verify(token)
    assert (verified.subject, verified.audience, verified.authenticated) == (IDENTITY, POOL, True)
    assert verified.amr == ("authenticated", "cognito-idp.x/y")


async def test_the_key_is_stored_once_and_shared_by_every_node() -> None:
    repo = MemoryCognitoIdentityRepository()
    first, second = tokens(repo), tokens(repo)
    token = await first.mint(IDENTITY, POOL, POOL_ARN, ("unauthenticated",))
    assert (await second.verify(token)).authenticated is False
    await second.mint(IDENTITY, POOL, POOL_ARN, ("unauthenticated",))
    assert len(await repo.list_signing_keys()) == 1
    jwks = await second.jwks()
    assert [k["kid"] for k in jwks["keys"]] == [jwt.get_unverified_header(token)["kid"]]


async def test_a_node_with_another_master_key_makes_its_own_key_and_refuses_foreign_tokens() -> None:
    repo = MemoryCognitoIdentityRepository()
    token = await tokens(repo).mint(IDENTITY, POOL, POOL_ARN, ())
    stranger = tokens(repo, key=b"z" * 32)
    with pytest.raises(InvalidIdentityTokenError):
        await stranger.verify(token)
    await stranger.mint(IDENTITY, POOL, POOL_ARN, ())
    assert len(await repo.list_signing_keys()) == 2


async def test_tampered_and_foreign_tokens_are_refused() -> None:
    issuer = tokens(MemoryCognitoIdentityRepository())
    token = await issuer.mint(IDENTITY, POOL, POOL_ARN, ("authenticated",))
    claims = jwt.decode(token, options={"verify_signature": False})
    kid = jwt.get_unverified_header(token)["kid"]
    resigned = jwt.encode(
        {**claims, "sub": "us-east-1:other"}, rsa_key("attacker"), "RS512", headers={"kid": kid}
    )
    for bad in (resigned, "garbage", id_token("user-1"), token[:-4] + "AAAA"):
        with pytest.raises(InvalidIdentityTokenError):
            await issuer.verify(bad)


async def test_tokens_expire_after_ten_minutes_by_the_server_clock() -> None:
    clock = OffsetClock()
    issuer = tokens(MemoryCognitoIdentityRepository(), clock=clock)
    token = await issuer.mint(IDENTITY, POOL, POOL_ARN, ())
    clock.advance(timedelta(seconds=599))
    await issuer.verify(token)
    clock.advance(timedelta(seconds=1))
    with pytest.raises(ExpiredTokenError, match="Token expired"):
        await issuer.verify(token)


async def test_sts_dispatches_by_issuer_and_refuses_unknown_providers() -> None:
    issuer = tokens(MemoryCognitoIdentityRepository())
    verifier = WebIdentityByIssuer({ISSUER: issuer}, fallback=NoWebIdentityProviders())
    token = await issuer.mint(IDENTITY, POOL, POOL_ARN, ("unauthenticated",))
    assert (await verifier.verify(token)).subject == IDENTITY
    with pytest.raises(InvalidIdentityTokenError, match="No OpenIDConnect provider"):
        await verifier.verify(id_token("user-1"))
    with pytest.raises(InvalidIdentityTokenError, match="not a valid JWT"):
        await verifier.verify("nope")
