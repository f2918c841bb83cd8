"""The Cognito user-pool service: one object that the API front and other services hold.

Parts, each a small class over the shared ``Core``:

* ``pools``: user pools and app clients (signed admin operations), signing-key rotation;
* ``users``: Admin* operations on users, ListUsers;
* ``registration``: SignUp, ConfirmSignUp, ResendConfirmationCode, ForgotPassword, ConfirmForgotPassword;
* ``signin``: InitiateAuth / RespondToAuthChallenge and their Admin forms;
* ``account``: what an access token allows (GetUser, ChangePassword, GlobalSignOut, …), RevokeToken.

For other services: ``verify_id_token`` (identity pools accept user-pool ID tokens through it),
``issuer`` / ``provider_name`` (how a pool names itself in tokens and in identity-pool Logins maps) and
``jwks`` / ``openid_configuration`` (served on ``/<poolId>/.well-known/``).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from bastion.clock import Clock
from bastion.sealing import Sealer
from bastion.services.cognito_idp.account import Account
from bastion.services.cognito_idp.core import Core
from bastion.services.cognito_idp.delivery import CodeSender, OutboxEntry, OutboxSender, read_outbox
from bastion.services.cognito_idp.hashing import derive_key
from bastion.services.cognito_idp.keys import KEY_BITS, KeyRing
from bastion.services.cognito_idp.pools import PoolAdmin
from bastion.services.cognito_idp.registration import Registration
from bastion.services.cognito_idp.signin import SignIn
from bastion.services.cognito_idp.tokens import TokenError, Tokens
from bastion.services.cognito_idp.users import UserAdmin
from bastion.services.errors import NotAuthorizedError
from bastion.storage.cognito_idp import CognitoIdpRepository


def default_issuer_base(region: str) -> str:
    return f"https://cognito-idp.{region}.amazonaws.com"


class CognitoIdpService:
    def __init__(
        self,
        repo: CognitoIdpRepository,
        *,
        sealer: Sealer,
        master_key: bytes,
        clock: Clock,
        region: str,
        account_id: str,
        issuer_base: str | None = None,
        sender: CodeSender | None = None,
        key_bits: int = KEY_BITS,
    ) -> None:
        keys = KeyRing(repo, sealer, clock, key_bits=key_bits)
        self.issuer_base = (issuer_base or default_issuer_base(region)).rstrip("/")
        tokens = Tokens(keys, clock, issuer_base=self.issuer_base)
        self._sealer = sealer
        self._repo = repo
        self.core = Core(
            repo=repo,
            sealer=sealer,
            clock=clock,
            region=region,
            account_id=account_id,
            hmac_key=derive_key(master_key, "hmac/v1"),
            sender=sender or OutboxSender(repo, sealer, clock),
            keys=keys,
            tokens=tokens,
        )
        self.pools = PoolAdmin(self.core)
        self.users = UserAdmin(self.core)
        self.registration = Registration(self.core)
        self.signin = SignIn(self.core)
        self.account = Account(self.core)

    # ---- for identity pools and other services ------------------------------------------------------

    def issuer(self, pool_id: str) -> str:
        """The ``iss`` of the pool's tokens: ``https://cognito-idp.<region>.amazonaws.com/<poolId>`` by
        default, or ``<BASTION_COGNITO_ISSUER_BASE>/<poolId>``."""
        return self.core.tokens.issuer(pool_id)

    def provider_name(self, pool_id: str) -> str:
        """The pool's name as an identity-pool provider (the Logins key): the issuer without its scheme."""
        return self.issuer(pool_id).split("://", 1)[-1]

    def pool_for_provider(self, provider_name: str) -> str | None:
        """The pool id a provider name (or issuer) designates, if it is one of this server's pools' names."""
        issuer = (
            provider_name
            if "://" in provider_name
            else f"{self.issuer_base.split('://', 1)[0]}://{provider_name}"
        )
        return self.core.tokens.pool_of(issuer)

    async def verify_id_token(
        self, token: str, *, pool_id: str, client_ids: Collection[str], check_revocation: bool = False
    ) -> dict[str, Any]:
        """The claims of a valid ID token of ``pool_id`` issued to one of ``client_ids``.

        Checks the RS256 signature against the pool's ID-token keys, ``iss`` (this server's issuer for the
        pool), ``token_use == "id"``, ``exp`` (with the service clock) and ``aud`` (when ``client_ids`` is
        empty, any app client of the pool is accepted). With ``check_revocation`` the user must still
        exist, be enabled, and its sign-in must not be revoked. Raises ``NotAuthorizedError`` with
        Cognito Identity's "Invalid login token. …" messages.
        """
        try:
            claims = await self.core.tokens.verify(token, "id", pool_id=pool_id)
        except TokenError as exc:
            if exc.reason == "expired":
                raise NotAuthorizedError("Invalid login token. Token expired.") from exc
            raise NotAuthorizedError("Invalid login token. Not a valid ID token of this user pool.") from exc
        audience = claims.get("aud")
        if client_ids:
            if audience not in client_ids:
                raise NotAuthorizedError("Invalid login token. Incorrect token audience.")
        else:
            client = await self._repo.get_client(str(audience))
            if client is None or client.pool_id != pool_id:
                raise NotAuthorizedError("Invalid login token. Incorrect token audience.")
        if check_revocation:
            user = await self._repo.get_user(pool_id, str(claims.get("sub")))
            session = await self._repo.get_session(str(claims.get("origin_jti")))
            if user is None or not user.enabled or session is None or session.revoked is not None:
                raise NotAuthorizedError("Invalid login token. Token has been revoked.")
        return claims

    # ---- well-known documents ----------------------------------------------------------------------

    async def jwks(self, pool_id: str) -> dict[str, Any]:
        await self.core.pool(pool_id)
        return await self.core.keys.jwks(pool_id)

    async def openid_configuration(self, pool_id: str, *, jwks_uri: str) -> dict[str, Any]:
        await self.core.pool(pool_id)
        return {
            "issuer": self.issuer(pool_id),
            "jwks_uri": jwks_uri,
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "token"],
            "scopes_supported": ["openid", "email", "phone", "profile"],
            "subject_types_supported": ["public"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        }

    # ---- development outbox ------------------------------------------------------------------------

    async def outbox(self, pool_id: str | None = None, limit: int = 20) -> Sequence[OutboxEntry]:
        """Codes waiting in the development outbox, newest first, opened (only here do codes appear)."""
        if pool_id is not None:
            await self.core.pool(pool_id)
        return await read_outbox(self._repo, self._sealer, pool_id, limit)

    async def housekeeping(self) -> None:
        """Drop expired sign-in sessions and outbox messages now (sign-ins also do it once an hour)."""
        await self.core.housekeeping(force=True)
