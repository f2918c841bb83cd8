"""The RSA keys that sign a pool's tokens: created with the pool, persisted sealed, rotatable.

Each pool has one active key per token use (ID tokens and access tokens are signed with different keys,
as AWS does). Rotation adds a new active key and retires the old one; retired keys stay in the JWKS so
tokens they signed keep verifying until they expire. Keys are cached per pool for a few seconds, and a
token naming an unknown ``kid`` triggers one reload, so a rotation made by another node is picked up.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bastion.clock import Clock
from bastion.sealing import Sealer
from bastion.storage.cognito_idp import CognitoIdpRepository, KeyUse, SigningKeyRecord

KEY_BITS = 2048
_PURPOSE = "bastion/cognito-idp/signing-key/v1"
_CACHE_SECONDS = 30.0
_USES: tuple[KeyUse, ...] = ("id", "access")


def _b64url_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def public_jwk(public_key: rsa.RSAPublicKey, kid: str) -> dict[str, str]:
    numbers = public_key.public_numbers()
    return {
        "alg": "RS256",
        "e": _b64url_uint(numbers.e),
        "kid": kid,
        "kty": "RSA",
        "n": _b64url_uint(numbers.n),
        "use": "sig",
    }


def key_id(public_key: rsa.RSAPublicKey) -> str:
    """Base64 of the SHA-256 of the public key (the shape of AWS's kids), so a kid names one key."""
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


@dataclass(frozen=True, slots=True)
class SigningKey:
    kid: str
    use: KeyUse
    public_key: rsa.RSAPublicKey
    jwk: dict[str, str]
    active: bool
    # Only the active keys are unsealed; retired ones only verify.
    private_key: rsa.RSAPrivateKey | None = None


@dataclass(slots=True)
class _Cached:
    loaded_at: float
    keys: list[SigningKey]


class KeyRing:
    def __init__(
        self, repo: CognitoIdpRepository, sealer: Sealer, clock: Clock, *, key_bits: int = KEY_BITS
    ) -> None:
        self._repo = repo
        self._sealer = sealer
        self._clock = clock
        self._bits = key_bits
        self._cache: dict[str, _Cached] = {}

    def _purpose(self, kid: str) -> bytes:
        return f"{_PURPOSE}\x00{kid}".encode()

    async def _new_record(self, pool_id: str, use: KeyUse) -> SigningKeyRecord:
        private = await asyncio.to_thread(rsa.generate_private_key, 65537, self._bits)
        public = private.public_key()
        kid = key_id(public)
        pem = private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        return SigningKeyRecord(
            kid=kid,
            pool_id=pool_id,
            use=use,
            created=self._clock.now(),
            sealed_private_key=self._sealer.seal(pem, purpose=self._purpose(kid)),
            public_jwk=json.dumps(public_jwk(public, kid), separators=(",", ":")),
        )

    async def rotate(self, pool_id: str, uses: Sequence[KeyUse] = _USES) -> list[str]:
        """Give the pool a new active key for each use (the first call creates its keys); return the kids."""
        kids = []
        for use in uses:
            record = await self._new_record(pool_id, use)
            await self._repo.add_signing_key(record)
            kids.append(record.kid)
        self._cache.pop(pool_id, None)
        return kids

    def forget(self, pool_id: str) -> None:
        self._cache.pop(pool_id, None)

    async def _load(self, pool_id: str) -> list[SigningKey]:
        keys = []
        for record in await self._repo.list_signing_keys(pool_id):
            jwk: dict[str, str] = json.loads(record.public_jwk)
            private = None
            if record.retired is None:
                pem = self._sealer.unseal(record.sealed_private_key, purpose=self._purpose(record.kid))
                loaded = serialization.load_pem_private_key(pem, password=None)
                if not isinstance(loaded, rsa.RSAPrivateKey):
                    raise TypeError(f"signing key {record.kid} is not an RSA key")
                private = loaded
            numbers = rsa.RSAPublicNumbers(_int(jwk["e"]), _int(jwk["n"]))
            keys.append(
                SigningKey(record.kid, record.use, numbers.public_key(), jwk, record.retired is None, private)
            )
        self._cache[pool_id] = _Cached(time.monotonic(), keys)
        return keys

    async def keys(self, pool_id: str, *, fresh: bool = False) -> list[SigningKey]:
        cached = self._cache.get(pool_id)
        if fresh or cached is None or time.monotonic() - cached.loaded_at > _CACHE_SECONDS:
            return await self._load(pool_id)
        return cached.keys

    async def signing_key(self, pool_id: str, use: KeyUse) -> SigningKey:
        for fresh in (False, True):
            active = [k for k in await self.keys(pool_id, fresh=fresh) if k.use == use and k.active]
            if active:
                return active[-1]
        # A pool always gets its keys when created; a store restored without them gets new ones here.
        await self.rotate(pool_id, (use,))
        return await self.signing_key(pool_id, use)

    async def verification_key(self, pool_id: str, kid: str) -> SigningKey | None:
        for key in await self.keys(pool_id):
            if key.kid == kid:
                return key
        cached = self._cache.get(pool_id)
        # An unknown kid reloads the keys (another node may have rotated), at most once a second per pool.
        if cached is not None and time.monotonic() - cached.loaded_at < 1.0:
            return None
        for key in await self.keys(pool_id, fresh=True):
            if key.kid == kid:
                return key
        return None

    async def jwks(self, pool_id: str) -> dict[str, Any]:
        return {"keys": [k.jwk for k in await self.keys(pool_id)]}


def _int(b64url: str) -> int:
    return int.from_bytes(base64.urlsafe_b64decode(b64url + "=" * (-len(b64url) % 4)), "big")
