"""Checking a user pool ID token presented in ``Logins``, as the identity pool does before trusting it.

The identity pool is a relying party: it needs from the user pool only its public signing keys (JWKS)
and, for providers with ``ServerSideTokenCheck``, whether the user behind a token is still signed in.
``UserPoolDirectory`` is that narrow view; the user pool service (or a test) provides it.

Checks, in order: the issuer names the pool of the ``Logins`` key; the signature verifies with the
pool's key of the token's ``kid`` (RS256); not expired (by the server clock); ``aud`` is an app client
configured for the provider; ``token_use`` is ``id``; a subject is present; and, when asked, the user
has not been signed out, disabled or deleted since.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import jwt

from bastion.clock import Clock
from bastion.services.cognito_identity import errors as text
from bastion.services.errors import NotAuthorizedError

# AWS names a user pool provider cognito-idp.<region>.amazonaws.com/<pool id>; a server with its own
# issuer base names it <host[:port]>[/<path>]/<pool id>. The pool id is always the last segment.
_PROVIDER = re.compile(r"^[\w.-]+(?::\d+)?(?:/[\w.-]+)*/([\w-]+_[0-9a-zA-Z]+)$")
ALGORITHM = "RS256"


def user_pool_of(provider_name: str) -> str | None:
    """The user pool id named by a ``Logins`` key ``cognito-idp.<region>.amazonaws.com/<pool id>``."""
    match = _PROVIDER.match(provider_name)
    return match.group(1) if match else None


def is_user_pool_provider(provider_name: str) -> bool:
    return _PROVIDER.match(provider_name) is not None


@dataclass(frozen=True, slots=True)
class UserPoolKeys:
    # The issuer the pool writes into its tokens; besides it, "https://" + the Logins key is accepted.
    issuer: str
    keys: Sequence[Mapping[str, Any]]  # JWKS entries


class UserPoolDirectory(Protocol):
    async def signing_keys(self, user_pool_id: str) -> UserPoolKeys | None:
        """The pool's public keys, or None when there is no such pool."""
        ...

    async def signed_in(self, user_pool_id: str, token: str, claims: Mapping[str, Any]) -> bool:
        """False when the user of this (verified) ID token has been deleted or disabled, or signed out
        (globally, or this token's sign-in revoked) since it was issued."""
        ...


class NoUserPools:
    """A directory with no pools: every user pool token fails its signature check."""

    async def signing_keys(self, user_pool_id: str) -> UserPoolKeys | None:
        return None

    async def signed_in(self, user_pool_id: str, token: str, claims: Mapping[str, Any]) -> bool:
        return False


def _refuse(message: str) -> NotAuthorizedError:
    return NotAuthorizedError(message)


class UserPoolIdTokens:
    def __init__(self, directory: UserPoolDirectory, clock: Clock) -> None:
        self.directory = directory
        self._clock = clock

    async def verify(
        self,
        provider_name: str,
        token: str,
        client_ids: Collection[str],
        server_side_check: Callable[[str], bool],
    ) -> dict[str, Any]:
        """The claims of a valid ID token for ``provider_name``; NotAuthorizedError otherwise.

        ``server_side_check(client_id)`` tells whether the provider entry of that app client asks for
        the server-side sign-in check.
        """
        user_pool_id = user_pool_of(provider_name)
        if user_pool_id is None:
            raise _refuse(text.UNSUPPORTED_PROVIDER)
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise _refuse(text.NOT_A_JWT) from None
        published = await self.directory.signing_keys(user_pool_id)
        issuers = {f"https://{provider_name}"} | ({published.issuer} if published else set())
        if unverified.get("iss") not in issuers:
            raise _refuse(text.ISSUER_MISMATCH)
        claims = self._verified(token, header, published)
        self._check_times(claims)
        audience = claims.get("aud")
        if not isinstance(audience, str) or not audience:
            raise _refuse(text.MISSING_AUDIENCE)
        if audience not in client_ids:
            raise _refuse(text.UNSUPPORTED_PROVIDER)
        if claims.get("token_use") != "id":
            raise _refuse("Invalid login token. Not an ID token.")
        if not isinstance(claims.get("sub"), str) or not claims["sub"]:
            raise _refuse("Invalid login token. Missing a required claim: sub")
        if server_side_check(audience) and not await self.directory.signed_in(user_pool_id, token, claims):
            raise _refuse("Invalid login token. The user is signed out or no longer exists.")
        return claims

    def _verified(
        self, token: str, header: Mapping[str, Any], published: UserPoolKeys | None
    ) -> dict[str, Any]:
        if published is None or header.get("alg") != ALGORITHM:
            raise _refuse(text.SIGNATURE_UNVERIFIED)
        entry = next((k for k in published.keys if k.get("kid") == header.get("kid")), None)
        if entry is None:
            raise _refuse(text.SIGNATURE_UNVERIFIED)
        try:
            key = jwt.PyJWK(dict(entry), algorithm=ALGORITHM)
            # Times are checked against the server's clock below, not the library's.
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=[ALGORITHM],
                options={"verify_exp": False, "verify_nbf": False, "verify_iat": False, "verify_aud": False},
            )
        except (jwt.PyJWTError, ValueError, TypeError):
            raise _refuse(text.SIGNATURE_UNVERIFIED) from None
        return claims

    def _check_times(self, claims: Mapping[str, Any]) -> None:
        now = int(self._clock.now().timestamp())
        expires = claims.get("exp")
        if not isinstance(expires, int) or isinstance(expires, bool):
            raise _refuse("Invalid login token. Missing a required claim: exp")
        if now >= expires:
            raise _refuse(text.token_expired(now, expires))
