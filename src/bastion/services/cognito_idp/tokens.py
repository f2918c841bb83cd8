"""ID and access tokens: AWS's claim sets, RS256 signatures with the pool's keys, and their verification.

ID token: ``sub``, ``aud`` (the app client), ``cognito:username``, ``token_use: id``, ``auth_time``,
``iss``, ``exp``, ``iat``, ``jti``, ``origin_jti``, ``event_id`` and the user's readable attributes
(``email_verified`` / ``phone_number_verified`` as booleans, everything else as strings).
Access token: ``sub``, ``client_id`` (no ``aud``), ``username``, ``token_use: access``,
``scope: aws.cognito.signin.user.admin``, ``auth_time``, ``iss``, ``exp``, ``iat``, ``jti``,
``origin_jti``, ``event_id``. ``origin_jti`` is the sign-in session the refresh token names, which is how
revocation reaches the access tokens minted from it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import jwt

from bastion.clock import Clock
from bastion.services.cognito_idp.keys import KeyRing
from bastion.storage.cognito_idp import KeyUse, PoolUserRecord, SessionRecord

ACCESS_SCOPE = "aws.cognito.signin.user.admin"
_BOOLEAN_CLAIMS = frozenset({"email_verified", "phone_number_verified"})
_NUMBER_CLAIMS = frozenset({"updated_at"})


class TokenError(Exception):
    """A token that cannot be accepted; ``reason`` is "expired" or "invalid"."""

    def __init__(self, reason: Literal["expired", "invalid"], detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class IssuedTokens:
    access_token: str
    id_token: str
    expires_in: int  # seconds of the access token
    refresh_token: str | None = None
    token_type: str = "Bearer"  # noqa: S105 (the OAuth token type)


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def _claim_value(name: str, value: str) -> Any:
    if name in _BOOLEAN_CLAIMS:
        return value == "true"
    if name in _NUMBER_CLAIMS:
        try:
            return int(value)
        except ValueError:
            return value
    return value


def id_token_claims(
    *,
    issuer: str,
    client_id: str,
    user: PoolUserRecord,
    readable: Iterable[str],
    session: SessionRecord,
    now: datetime,
    lifetime: timedelta,
    event_id: str,
) -> dict[str, Any]:
    shown = set(readable)
    claims: dict[str, Any] = {"sub": user.sub}
    for name, value in sorted(user.attributes.items()):
        if name in shown and name != "sub":
            claims[name] = _claim_value(name, value)
    claims.update(
        {
            "iss": issuer,
            "cognito:username": user.username,
            "origin_jti": session.session_id,
            "aud": client_id,
            "event_id": event_id,
            "token_use": "id",
            "auth_time": _epoch(session.auth_time),
            "exp": _epoch(now + lifetime),
            "iat": _epoch(now),
            "jti": str(uuid.uuid4()),
        }
    )
    return claims


def access_token_claims(
    *,
    issuer: str,
    client_id: str,
    user: PoolUserRecord,
    session: SessionRecord,
    now: datetime,
    lifetime: timedelta,
    event_id: str,
) -> dict[str, Any]:
    return {
        "sub": user.sub,
        "iss": issuer,
        "client_id": client_id,
        "origin_jti": session.session_id,
        "event_id": event_id,
        "token_use": "access",
        "scope": ACCESS_SCOPE,
        "auth_time": _epoch(session.auth_time),
        "exp": _epoch(now + lifetime),
        "iat": _epoch(now),
        "jti": str(uuid.uuid4()),
        "username": user.username,
    }


class Tokens:
    def __init__(self, keys: KeyRing, clock: Clock, *, issuer_base: str) -> None:
        self._keys = keys
        self._clock = clock
        self._base = issuer_base.rstrip("/")

    def issuer(self, pool_id: str) -> str:
        return f"{self._base}/{pool_id}"

    def pool_of(self, issuer: object) -> str | None:
        """The pool id an ``iss`` claim names, if it is one of this server's issuers."""
        if not isinstance(issuer, str) or not issuer.startswith(self._base + "/"):
            return None
        pool_id = issuer[len(self._base) + 1 :]
        return pool_id if pool_id and "/" not in pool_id else None

    async def _sign(self, pool_id: str, use: KeyUse, claims: Mapping[str, Any]) -> str:
        key = await self._keys.signing_key(pool_id, use)
        assert key.private_key is not None  # active keys are always unsealed
        return jwt.encode(
            dict(claims), key.private_key, algorithm="RS256", headers={"kid": key.kid, "typ": None}
        )

    async def issue(
        self,
        *,
        pool_id: str,
        client_id: str,
        user: PoolUserRecord,
        readable: Iterable[str],
        session: SessionRecord,
        access_lifetime: timedelta,
        id_lifetime: timedelta,
        refresh_token: str | None,
    ) -> IssuedTokens:
        now = self._clock.now()
        event_id = str(uuid.uuid4())
        issuer = self.issuer(pool_id)
        id_claims = id_token_claims(
            issuer=issuer,
            client_id=client_id,
            user=user,
            readable=readable,
            session=session,
            now=now,
            lifetime=id_lifetime,
            event_id=event_id,
        )
        access_claims = access_token_claims(
            issuer=issuer,
            client_id=client_id,
            user=user,
            session=session,
            now=now,
            lifetime=access_lifetime,
            event_id=event_id,
        )
        return IssuedTokens(
            access_token=await self._sign(pool_id, "access", access_claims),
            id_token=await self._sign(pool_id, "id", id_claims),
            expires_in=int(access_lifetime.total_seconds()),
            refresh_token=refresh_token,
        )

    async def verify(self, token: str, use: KeyUse, *, pool_id: str | None = None) -> dict[str, Any]:
        """The claims of ``token`` after checking signature, key use, issuer, ``token_use`` and expiry.

        ``pool_id`` pins the pool; otherwise it is read from ``iss``. Raises TokenError.
        """
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            raise TokenError("invalid", "not a JWT") from exc
        claimed_pool = self.pool_of(unverified.get("iss"))
        if claimed_pool is None or (pool_id is not None and claimed_pool != pool_id):
            raise TokenError("invalid", "issuer is not this user pool")
        kid = header.get("kid")
        if header.get("alg") != "RS256" or not isinstance(kid, str):
            raise TokenError("invalid", "unexpected token header")
        key = await self._keys.verification_key(claimed_pool, kid)
        if key is None or key.use != use:
            raise TokenError("invalid", "unknown signing key")
        try:
            # Times are checked below against the injected clock, not by the library.
            claims: dict[str, Any] = jwt.decode(
                token,
                key.public_key,
                algorithms=["RS256"],
                options={"verify_exp": False, "verify_iat": False, "verify_nbf": False, "verify_aud": False},
            )
        except jwt.PyJWTError as exc:
            raise TokenError("invalid", "bad signature") from exc
        if claims.get("token_use") != use or claims.get("iss") != self.issuer(claimed_pool):
            raise TokenError("invalid", "wrong token use or issuer")
        exp = claims.get("exp")
        if not isinstance(exp, int) or _epoch(self._clock.now()) >= exp:
            raise TokenError("expired", "token has expired")
        return claims
