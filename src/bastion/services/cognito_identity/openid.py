"""The identity pools' OpenID Connect tokens (GetOpenIdToken), and their verification for STS.

A token is a JWT signed RS512 with a key of this installation, ``iss`` https://cognito-identity.amazonaws.com,
``aud`` the identity pool id, ``sub`` the identity id, ``amr`` how the identity signed in; it is valid
for ten minutes. STS's AssumeRoleWithWebIdentity accepts it through ``verify`` (the basic flow).

Signing keys live in storage, sealed with the master key, so every node sharing the database and the
key signs and verifies alike. The first node to need a key creates one; nodes racing to do so each keep
using the oldest stored key, and any stored key verifies.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bastion.clock import Clock
from bastion.sealing import Sealer, UnsealError
from bastion.services.errors import ExpiredTokenError, InvalidIdentityTokenError
from bastion.services.sts.service import WebIdentityClaims
from bastion.storage.cognito_identity import CognitoIdentityRepository, SigningKey
from bastion.storage.interfaces import AlreadyExists

ISSUER = "https://cognito-identity.amazonaws.com"
PROVIDER = "cognito-identity.amazonaws.com"
TOKEN_SECONDS = 600
ALGORITHM = "RS512"
KEY_PURPOSE = b"bastion/cognito-identity-openid-key/v1"
# A token naming a key this node does not know makes it re-read the stored keys (another node may have
# made one), at most this often, so that forged kids cannot turn into a storage read each.
RELOAD_SECONDS = 5.0
# STS's text for a web identity token it cannot validate.
NOT_VALIDATED = (
    "The web identity token that was passed could not be validated by AWS. Get a new identity token "
    "from the identity provider and then retry the request."
)


class OpenIdTokens:
    def __init__(self, repo: CognitoIdentityRepository, sealer: Sealer, clock: Clock) -> None:
        self._repo = repo
        self._sealer = sealer
        self._clock = clock
        self._private: dict[str, rsa.RSAPrivateKey] = {}
        self._signing_kid: str | None = None
        self._lock = asyncio.Lock()
        self._loaded_at: float | None = None

    # ---- keys -----------------------------------------------------------------------------------------
    async def _load(self) -> Sequence[SigningKey]:
        stored = await self._repo.list_signing_keys()
        self._loaded_at = time.monotonic()
        for key in stored:
            if key.kid not in self._private:
                try:
                    pem = self._sealer.unseal(key.sealed_private_key, purpose=KEY_PURPOSE)
                except UnsealError:
                    continue  # sealed with another master key: useless here
                loaded = serialization.load_pem_private_key(pem, password=None)
                if isinstance(loaded, rsa.RSAPrivateKey):
                    self._private[key.kid] = loaded
        return stored

    async def _create(self) -> None:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        sealed = self._sealer.seal(pem, purpose=KEY_PURPOSE)
        kid = f"bastion-{secrets.token_hex(8)}"
        # A random kid that is taken already means a key is stored, which is all the caller needs.
        with contextlib.suppress(AlreadyExists):
            await self._repo.add_signing_key(SigningKey(kid, sealed, self._clock.now()))

    async def _signing_key(self) -> tuple[str, rsa.RSAPrivateKey]:
        async with self._lock:
            if self._signing_kid is None:
                usable = [k.kid for k in await self._load() if k.kid in self._private]
                if not usable:
                    await self._create()
                    usable = [k.kid for k in await self._load() if k.kid in self._private]
                self._signing_kid = usable[0]
            return self._signing_kid, self._private[self._signing_kid]

    async def _public_key(self, kid: str) -> rsa.RSAPublicKey | None:
        stale = self._loaded_at is None or time.monotonic() - self._loaded_at > RELOAD_SECONDS
        if kid not in self._private and stale:
            async with self._lock:
                await self._load()
        private = self._private.get(kid)
        return None if private is None else private.public_key()

    async def jwks(self) -> dict[str, list[dict[str, Any]]]:
        """The public keys, as a JWKS document."""
        await self._signing_key()
        keys = []
        for kid, private in sorted(self._private.items()):
            jwk = jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key(), as_dict=True)
            keys.append({**jwk, "kid": kid, "alg": ALGORITHM, "use": "sig"})
        return {"keys": keys}

    # ---- tokens ---------------------------------------------------------------------------------------
    async def mint(self, identity_id: str, pool_id: str, pool_arn: str, amr: Sequence[str]) -> str:
        kid, key = await self._signing_key()
        now = self._clock.now()
        claims = {
            "iss": ISSUER,
            "sub": identity_id,
            "aud": pool_id,
            "amr": list(amr),
            f"{ISSUER}/identity-pool-arn": pool_arn,
            "iat": int(now.timestamp()),
            "exp": int((now + timedelta(seconds=TOKEN_SECONDS)).timestamp()),
        }
        return jwt.encode(claims, key, algorithm=ALGORITHM, headers={"kid": kid})

    async def verify(self, token: str) -> WebIdentityClaims:
        """STS's check of a token for AssumeRoleWithWebIdentity (implements ``WebIdentityVerifier``)."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise InvalidIdentityTokenError(NOT_VALIDATED) from None
        public = await self._public_key(str(header.get("kid", "")))
        if public is None or header.get("alg") != ALGORITHM:
            raise InvalidIdentityTokenError(NOT_VALIDATED)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                public,
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                options={"verify_exp": False, "verify_iat": False, "verify_nbf": False, "verify_aud": False},
            )
        except jwt.PyJWTError:
            raise InvalidIdentityTokenError(NOT_VALIDATED) from None
        return self._claims(claims)

    def _claims(self, claims: Mapping[str, Any]) -> WebIdentityClaims:
        now = int(self._clock.now().timestamp())
        expires, subject, audience = claims.get("exp"), claims.get("sub"), claims.get("aud")
        if not isinstance(expires, int) or not isinstance(subject, str) or not isinstance(audience, str):
            raise InvalidIdentityTokenError(NOT_VALIDATED)
        if now >= expires:
            raise ExpiredTokenError(
                f"Token expired: current date/time {now} must be before the expiration date/time {expires}"
            )
        amr = claims.get("amr")
        methods = tuple(m for m in amr if isinstance(m, str)) if isinstance(amr, list) else ()
        return WebIdentityClaims(
            provider=PROVIDER,
            subject=subject,
            audience=audience,
            amr=methods,
            authenticated="authenticated" in methods,
        )
