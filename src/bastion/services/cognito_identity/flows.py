"""The end-user calls of identity pools (unsigned): GetId, GetCredentialsForIdentity, GetOpenIdToken,
UnlinkIdentity.

Identity life cycle, as AWS documents it (Cognito developer guide, "authentication flow"):

* GetId without logins makes a new guest identity (pools that allow guests); with logins it returns the
  identity linked to them, creating one the first time a user is seen.
* A guest asks for credentials or a token with its id alone. An authenticated identity must present at
  least one valid token for a login already linked to it; a disabled one gets nothing.
* Presenting a login linked to no identity links it (a guest becomes authenticated and keeps its id);
  one login per provider. Presenting a login linked to another identity merges the two: the identity
  holding logins becomes the owner of them all, the other is disabled, and the owner's id is returned.

Credentials (enhanced flow) are an STS session of the chosen role named ``CognitoIdentityCredentials``,
valid one hour; guests' sessions also carry the scope-down session policy. The role's trust policy is
evaluated as for AssumeRoleWithWebIdentity with the keys cognito-identity.amazonaws.com:aud|sub|amr.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass

from bastion.clock import Clock
from bastion.policy import Principal as PolicyPrincipal
from bastion.services.cognito_identity import errors as text
from bastion.services.cognito_identity.errors import ClassicFlowDisabledError, InvalidPoolConfigurationError
from bastion.services.cognito_identity.logins import LoginVerifier, VerifiedLogin
from bastion.services.cognito_identity.openid import PROVIDER, OpenIdTokens
from bastion.services.cognito_identity.pools import IdentityPoolAdmin
from bastion.services.cognito_identity.roles import choose_role
from bastion.services.cognito_identity.scope_down import UNAUTHENTICATED_SESSION_POLICY
from bastion.services.errors import (
    ConflictError,
    MalformedPolicyError,
    NotAuthorizedError,
    NotFoundError,
)
from bastion.services.iam.service import IamService
from bastion.services.identity import WebIdentity
from bastion.services.sts.service import RoleSession, StsService
from bastion.storage import interfaces as st
from bastion.storage.cognito_identity import CognitoIdentityRepository, Identity, IdentityPool

SESSION_NAME = "CognitoIdentityCredentials"
SESSION_SECONDS = 3600
_ROLE_ARN = re.compile(r"^arn:aws:iam::(\d{12}):role/(?:[\x21-\x7e]*/)?([\w+=,.@-]+)$")


@contextmanager
def storage_errors() -> Iterator[None]:
    """Storage outcomes of a race (a pool deleted meanwhile, a login linked meanwhile) as domain errors."""
    try:
        yield
    except st.NotFound as exc:
        raise NotFoundError(str(exc)) from exc
    except st.AlreadyExists as exc:
        raise ConflictError(
            "A login is already linked to another identity, or this identity already has a login "
            "for that provider."
        ) from exc


@dataclass(frozen=True, slots=True)
class SignedIn:
    """An identity ready for credentials: its pool, itself, and the logins it presented."""

    pool: IdentityPool
    identity: Identity
    logins: tuple[VerifiedLogin, ...]

    @property
    def amr(self) -> tuple[str, ...]:
        if not self.logins:
            return ("unauthenticated",)
        return ("authenticated", *(m for login in self.logins for m in login.amr))


class IdentityFlows:
    def __init__(
        self,
        *,
        repo: CognitoIdentityRepository,
        admin: IdentityPoolAdmin,
        logins: LoginVerifier,
        openid: OpenIdTokens,
        sts: StsService,
        iam: IamService,
        clock: Clock,
    ) -> None:
        self._repo = repo
        self._admin = admin
        self._logins = logins
        self._openid = openid
        self._sts = sts
        self._iam = iam
        self._clock = clock

    # ---- GetId ---------------------------------------------------------------------------------------
    async def get_id(self, pool_id: str, logins: Mapping[str, str], account_id: str | None = None) -> str:
        if account_id is not None and account_id != self._admin.account_id:
            raise NotFoundError(text.pool_not_found(pool_id))
        pool = await self._admin.pool(pool_id)
        if not logins:
            if not pool.allow_unauthenticated:
                raise NotAuthorizedError(text.UNAUTHENTICATED_NOT_SUPPORTED)
            return (await self._new_identity(pool, [])).identity_id
        verified = await self._logins.verify(pool, logins)
        return (await self._owner_of(pool, verified)).identity_id

    async def _new_identity(self, pool: IdentityPool, logins: Sequence[VerifiedLogin]) -> Identity:
        now = self._clock.now()
        identity = Identity(
            identity_id=f"{self._admin.region}:{uuid.uuid4()}",
            pool_id=pool.pool_id,
            created=now,
            last_modified=now,
            logins=tuple(v.login for v in logins),
        )
        with storage_errors():
            await self._repo.create_identity(identity)
        return identity

    async def _owners(
        self, pool: IdentityPool, logins: Sequence[VerifiedLogin], skip: str = ""
    ) -> list[Identity]:
        """The identities other than ``skip`` that hold one of ``logins``, oldest first."""
        found: dict[str, Identity] = {}
        for login in logins:
            owner = await self._repo.find_identity(pool.pool_id, login.login)
            if owner is not None and owner.identity_id != skip:
                found[owner.identity_id] = owner
        return sorted(found.values(), key=lambda i: (i.created, i.identity_id))

    async def _owner_of(self, pool: IdentityPool, logins: Sequence[VerifiedLogin]) -> Identity:
        """The identity of these logins: found (merging several into the oldest), or created."""
        owners = await self._owners(pool, logins)
        if not owners:
            try:
                return await self._new_identity(pool, logins)
            except ConflictError:
                # Another request linked one of these logins meanwhile: use what it made.
                owners = await self._owners(pool, logins)
                if not owners:
                    raise
        return await self._link(owners[0], logins, absorb=owners[1:])

    async def _link(
        self, identity: Identity, logins: Sequence[VerifiedLogin], absorb: Sequence[Identity]
    ) -> Identity:
        new = [v.login for v in logins if identity.subject_for(v.provider) != v.subject]
        if not new and not absorb:
            return identity
        with storage_errors():
            return await self._repo.link_logins(
                identity.identity_id, new, [a.identity_id for a in absorb], self._clock.now()
            )

    # ---- presenting an identity ---------------------------------------------------------------------
    async def sign_in(self, identity_id: str, logins: Mapping[str, str]) -> SignedIn:
        """The identity (after linking or merging what the logins call for) that may get credentials."""
        identity = await self._admin.identity(identity_id)
        pool = await self._admin.pool(identity.pool_id)
        if not logins:
            if identity.disabled or identity.authenticated:
                raise NotAuthorizedError(text.identity_forbidden(identity_id))
            if not pool.allow_unauthenticated:
                raise NotAuthorizedError(text.UNAUTHENTICATED_NOT_SUPPORTED)
            return SignedIn(pool, identity, ())
        verified = await self._logins.verify(pool, logins)
        owners = await self._owners(pool, verified, skip=identity_id)
        if identity.authenticated and not identity.disabled:
            if not any(identity.subject_for(v.provider) == v.subject for v in verified):
                raise NotAuthorizedError(text.LOGINS_DO_NOT_MATCH)
            return SignedIn(pool, await self._link(identity, verified, absorb=owners), tuple(verified))
        if not owners:
            if identity.disabled:
                raise NotAuthorizedError(text.identity_forbidden(identity_id))
            return SignedIn(pool, await self._link(identity, verified, absorb=()), tuple(verified))
        # A guest presenting a known user's login: the user's identity absorbs the guest.
        absorbed = [*owners[1:], *(() if identity.disabled else (identity,))]
        return SignedIn(pool, await self._link(owners[0], verified, absorb=absorbed), tuple(verified))

    # ---- GetCredentialsForIdentity ------------------------------------------------------------------
    async def get_credentials(
        self, identity_id: str, logins: Mapping[str, str], custom_role_arn: str | None = None
    ) -> tuple[str, RoleSession]:
        signed_in = await self.sign_in(identity_id, logins)
        role_arn = choose_role(signed_in.pool, signed_in.logins, custom_role_arn)
        role = await self._trusted_role(signed_in, role_arn)
        identity = signed_in.identity
        web = WebIdentity(
            provider=PROVIDER,
            subject=identity.identity_id,
            audience=signed_in.pool.pool_id,
            amr=signed_in.amr,
            authenticated=bool(signed_in.logins),
        )
        session = self._sts.issue(
            role,
            SESSION_NAME,
            SESSION_SECONDS,
            session_policy=None if signed_in.logins else UNAUTHENTICATED_SESSION_POLICY,
            web_identity=web,
        )
        return identity.identity_id, session

    async def _trusted_role(self, signed_in: SignedIn, role_arn: str) -> st.Role:
        match = _ROLE_ARN.match(role_arn)
        role = None
        if match is not None and match.group(1) == self._admin.account_id:
            with suppress(NotFoundError):
                role = await self._iam.get_role(match.group(2))
        if role is None or role.arn != role_arn:
            raise InvalidPoolConfigurationError(text.INVALID_POOL_CONFIGURATION)
        context: dict[str, object] = {
            f"{PROVIDER}:aud": signed_in.pool.pool_id,
            f"{PROVIDER}:sub": signed_in.identity.identity_id,
            f"{PROVIDER}:amr": list(signed_in.amr),
        }
        principal = PolicyPrincipal("Federated", PROVIDER)
        try:
            trusted = self._sts.trust_allows(role, "sts:AssumeRoleWithWebIdentity", principal, context)
        except MalformedPolicyError:
            trusted = False
        if not trusted:
            raise InvalidPoolConfigurationError(text.INVALID_POOL_CONFIGURATION)
        return role

    # ---- GetOpenIdToken -----------------------------------------------------------------------------
    async def get_open_id_token(self, identity_id: str, logins: Mapping[str, str]) -> tuple[str, str]:
        identity = await self._admin.identity(identity_id)
        pool = await self._admin.pool(identity.pool_id)
        if not pool.allow_classic_flow:
            raise ClassicFlowDisabledError(text.CLASSIC_FLOW_DISABLED)
        signed_in = await self.sign_in(identity_id, logins)
        owner = signed_in.identity
        token = await self._openid.mint(
            owner.identity_id, pool.pool_id, self._admin.pool_arn(pool.pool_id), signed_in.amr
        )
        return owner.identity_id, token

    # ---- UnlinkIdentity -----------------------------------------------------------------------------
    async def unlink(self, identity_id: str, logins: Mapping[str, str], remove: Sequence[str]) -> None:
        identity = await self._admin.identity(identity_id)
        pool = await self._admin.pool(identity.pool_id)
        verified = await self._logins.verify(pool, logins)
        if identity.disabled or not any(identity.subject_for(v.provider) == v.subject for v in verified):
            raise NotAuthorizedError(text.LOGINS_DO_NOT_MATCH)
        with storage_errors():
            await self._repo.unlink_logins(identity_id, remove, self._clock.now())
