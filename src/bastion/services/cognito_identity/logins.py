"""The ``Logins`` map of an end-user call: which providers the pool accepts, and who each token names.

Every token must verify: one bad token fails the whole call (AWS: "if any of the tokens fail, the whole
call fails"). Only Cognito user pool providers can be verified here; tokens of the public providers
(Facebook, Google, Amazon, Apple, Twitter), OpenID Connect and SAML providers would need those
providers' keys or endpoints, which a self-hosted server does not have.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bastion.services.cognito_identity import errors as text
from bastion.services.cognito_identity.user_pool_tokens import UserPoolIdTokens, is_user_pool_provider
from bastion.services.errors import NotAuthorizedError
from bastion.storage.cognito_identity import IdentityPool, Login


@dataclass(frozen=True, slots=True)
class VerifiedLogin:
    provider: str  # the Logins key
    subject: str  # the user's "sub" at that provider
    client_id: str  # the token's audience (user pool app client id)
    claims: Mapping[str, Any] = field(repr=False)

    @property
    def login(self) -> Login:
        return Login(self.provider, self.subject)

    @property
    def mapping_key(self) -> str:
        """The RoleMappings key for this login: user pool providers add ``:<app client id>``."""
        return f"{self.provider}:{self.client_id}"

    @property
    def amr(self) -> tuple[str, ...]:
        """What this login adds to the OpenID token's ``amr`` claim (the form AWS uses for user pools)."""
        return (self.provider, f"{self.provider}:CognitoSignIn:{self.subject}")


class LoginVerifier:
    def __init__(self, user_pools: UserPoolIdTokens) -> None:
        self.user_pools = user_pools

    async def verify(self, pool: IdentityPool, logins: Mapping[str, str]) -> list[VerifiedLogin]:
        """Each login, verified, in the order given; NotAuthorizedError for the first that fails."""
        return [await self._one(pool, provider, token) for provider, token in logins.items()]

    async def _one(self, pool: IdentityPool, provider: str, token: str) -> VerifiedLogin:
        entries = [p for p in pool.cognito_providers if p.provider_name == provider]
        if not entries or not is_user_pool_provider(provider):
            if provider in dict(pool.supported_login_providers):
                raise NotAuthorizedError(
                    f"Tokens of {provider} cannot be verified by this server; "
                    "sign in through a Cognito user pool provider instead."
                )
            raise NotAuthorizedError(text.UNSUPPORTED_PROVIDER)
        checks = {p.client_id: p.server_side_token_check for p in entries}
        claims = await self.user_pools.verify(
            provider, token, checks.keys(), lambda client: checks.get(client, False)
        )
        return VerifiedLogin(provider, str(claims["sub"]), str(claims["aud"]), claims)
