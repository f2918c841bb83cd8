"""This server's Cognito user pools, as identity pools see them (a ``UserPoolDirectory``).

Only three calls of the user pool service are used, named by a protocol here so that identity pools do
not depend on how user pools are built: the pool's JWKS, its issuer, and its own ID-token check with
revocation (for providers with ``ServerSideTokenCheck``).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any, Protocol

from bastion.services.cognito_identity.user_pool_tokens import UserPoolKeys
from bastion.services.errors import NotAuthorizedError, NotFoundError


class UserPoolService(Protocol):
    def issuer(self, pool_id: str) -> str: ...

    async def jwks(self, pool_id: str) -> dict[str, Any]: ...

    async def verify_id_token(
        self, token: str, *, pool_id: str, client_ids: Collection[str], check_revocation: bool = False
    ) -> dict[str, Any]: ...


class LocalUserPools:
    def __init__(self, user_pools: UserPoolService) -> None:
        self._user_pools = user_pools

    async def signing_keys(self, user_pool_id: str) -> UserPoolKeys | None:
        try:
            jwks = await self._user_pools.jwks(user_pool_id)
        except NotFoundError:
            return None
        return UserPoolKeys(self._user_pools.issuer(user_pool_id), list(jwks.get("keys", [])))

    async def signed_in(self, user_pool_id: str, token: str, claims: Mapping[str, Any]) -> bool:
        try:
            await self._user_pools.verify_id_token(
                token, pool_id=user_pool_id, client_ids=[str(claims.get("aud"))], check_revocation=True
            )
        except (NotAuthorizedError, NotFoundError):
            return False
        return True
