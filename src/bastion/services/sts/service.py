"""STS: caller identity, role sessions and temporary credentials.

Temporary credentials are self-contained: the session token is the sealed session (bastion.services.identity),
so any node holding the master key verifies them without storage.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from bastion import ids
from bastion.clock import Clock
from bastion.policy import Decision, Request, evaluate
from bastion.policy import Principal as PolicyPrincipal
from bastion.services.errors import (
    AccessDeniedError,
    InvalidIdentityTokenError,
    InvalidInputError,
    MalformedPolicyError,
    NotFoundError,
)
from bastion.services.iam.service import IamService
from bastion.services.identity import (
    Principal,
    PrincipalKind,
    SessionTokens,
    TemporaryCredentials,
    WebIdentity,
)
from bastion.services.policy_documents import PolicyKind, check_policy
from bastion.storage import interfaces as st

MIN_DURATION = 900
MAX_SESSION_POLICY_CHARS = 2048
_ROLE_ARN = re.compile(r"^arn:aws:iam::(\d{12}):role(/(?:[\x21-\x7e]*/)?)([\w+=,.@-]+)$")


@dataclass(frozen=True, slots=True)
class RoleSession:
    credentials: TemporaryCredentials
    principal: Principal

    @property
    def assumed_role_id(self) -> str:
        return self.principal.user_id


@dataclass(frozen=True, slots=True)
class WebIdentityClaims:
    provider: str  # "cognito-identity.amazonaws.com", or an OIDC issuer host
    subject: str
    audience: str
    amr: tuple[str, ...] = ()
    authenticated: bool = True


class WebIdentityVerifier(Protocol):
    """Verifies a web identity token (JWT) and returns its claims; raises InvalidIdentityTokenError."""

    async def verify(self, token: str) -> WebIdentityClaims: ...


class NoWebIdentityProviders:
    """Until an identity provider is configured, every web identity token is refused as AWS refuses one
    from an unknown provider."""

    async def verify(self, token: str) -> WebIdentityClaims:
        raise InvalidIdentityTokenError("No OpenIDConnect provider found in your account for this token.")


class StsService:
    def __init__(
        self,
        *,
        iam: IamService,
        tokens: SessionTokens,
        account_id: str,
        clock: Clock,
        web_identity: WebIdentityVerifier | None = None,
    ) -> None:
        self._iam = iam
        self._tokens = tokens
        self._account = account_id
        self._clock = clock
        self.web_identity: WebIdentityVerifier = web_identity or NoWebIdentityProviders()

    async def _role_from_arn(self, role_arn: str) -> st.Role:
        match = _ROLE_ARN.match(role_arn)
        if match is None or match.group(1) != self._account:
            raise AccessDeniedError(f"Role {role_arn} cannot be assumed: not a role of this account.")
        try:
            role = await self._iam.get_role(match.group(3))
        except NotFoundError as exc:
            raise AccessDeniedError(f"Not authorized to perform sts:AssumeRole on {role_arn}") from exc
        if role.arn != role_arn:
            raise AccessDeniedError(f"Not authorized to perform sts:AssumeRole on {role_arn}")
        return role

    def _check_duration(self, role: st.Role, duration: int | None) -> int:
        seconds = 3600 if duration is None else duration
        if seconds < MIN_DURATION or seconds > role.max_session_duration:
            raise InvalidInputError(
                "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
            )
        return seconds

    def _check_session_policy(self, policy: str | None) -> None:
        if policy is None:
            return
        if len(policy) > MAX_SESSION_POLICY_CHARS:
            raise MalformedPolicyError("Policy exceeds the maximum allowed size.")
        check_policy(policy, PolicyKind.IDENTITY)

    def issue(
        self,
        role: st.Role,
        session_name: str,
        seconds: int,
        *,
        session_policy: str | None = None,
        web_identity: WebIdentity | None = None,
        source_identity: str | None = None,
    ) -> RoleSession:
        """Mint temporary credentials for a session of ``role`` (the trust checks are the caller's job)."""
        expires = self._clock.now().replace(microsecond=0) + timedelta(seconds=seconds)
        access_key_id = ids.temporary_access_key_id()
        secret = ids.secret_access_key()
        principal = Principal(
            kind=PrincipalKind.ROLE_SESSION,
            account_id=self._account,
            arn=f"arn:aws:sts::{self._account}:assumed-role/{role.name}/{session_name}",
            user_id=f"{role.role_id}:{session_name}",
            access_key_id=access_key_id,
            role_name=role.name,
            role_arn=role.arn,
            role_id=role.role_id,
            session_name=session_name,
            session_policy=session_policy,
            expires=expires,
            web_identity=web_identity,
            source_identity=source_identity,
        )
        token = self._tokens.mint(principal, secret)
        return RoleSession(TemporaryCredentials(access_key_id, secret, token, expires), principal)

    def trust_allows(
        self,
        role: st.Role,
        action: str,
        principal: PolicyPrincipal,
        context: Mapping[str, object],
    ) -> bool:
        return self._trust_decision(role, action, principal, context).allowed

    def _trust_decision(
        self, role: st.Role, action: str, principal: PolicyPrincipal, context: Mapping[str, object]
    ) -> Decision:
        trust = check_policy(role.trust_policy, PolicyKind.TRUST, label=f"{role.arn} trust policy")
        request = Request(action=action, resource=role.arn, context=context, principal=principal)
        return evaluate([trust], request)

    async def assume_role(
        self,
        caller: Principal,
        role_arn: str,
        session_name: str,
        *,
        identity_allows: bool,
        duration: int | None = None,
        session_policy: str | None = None,
        source_identity: str | None = None,
        context: Mapping[str, object] | None = None,
    ) -> RoleSession:
        """``identity_allows``: the caller's own policies allow ``sts:AssumeRole`` on the role (an explicit
        deny there is the caller's to refuse before asking)."""
        role = await self._role_from_arn(role_arn)
        seconds = self._check_duration(role, duration)
        self._check_session_policy(session_policy)
        if not self._trusts_caller(role, caller, context or {}, identity_allows=identity_allows):
            raise AccessDeniedError(
                f"User: {caller.arn} is not authorized to perform: sts:AssumeRole on resource: {role_arn}"
            )
        return self.issue(
            role, session_name, seconds, session_policy=session_policy, source_identity=source_identity
        )

    def _trusts_caller(
        self, role: st.Role, caller: Principal, context: Mapping[str, object], *, identity_allows: bool
    ) -> bool:
        """AWS's same-account rule for role trust: a trust policy that names the caller itself (its ARN, or
        for a session without a session policy, its role) grants on its own; one that only names the
        account delegates to the caller's identity policies, which must then allow too."""
        full = self._trust_decision(role, "sts:AssumeRole", _aws_principal(caller), context)
        if not full.allowed:
            return False
        if identity_allows:
            return True
        return self._trust_decision(role, "sts:AssumeRole", _named_principal(caller), context).allowed

    async def assume_role_with_web_identity(
        self,
        role_arn: str,
        session_name: str,
        token: str,
        *,
        duration: int | None = None,
        session_policy: str | None = None,
    ) -> tuple[RoleSession, WebIdentityClaims]:
        claims = await self.web_identity.verify(token)
        role = await self._role_from_arn(role_arn)
        seconds = self._check_duration(role, duration)
        self._check_session_policy(session_policy)
        context: dict[str, object] = {
            f"{claims.provider}:aud": claims.audience,
            f"{claims.provider}:sub": claims.subject,
            f"{claims.provider}:amr": list(claims.amr),
        }
        if not self.trust_allows(
            role, "sts:AssumeRoleWithWebIdentity", PolicyPrincipal("Federated", claims.provider), context
        ):
            raise AccessDeniedError("Not authorized to perform sts:AssumeRoleWithWebIdentity")
        web = WebIdentity(
            provider=claims.provider,
            subject=claims.subject,
            audience=claims.audience,
            amr=claims.amr,
            authenticated=claims.authenticated,
        )
        return self.issue(
            role, session_name, seconds, session_policy=session_policy, web_identity=web
        ), claims


def _aws_principal(caller: Principal) -> PolicyPrincipal:
    """The caller as an ``{"AWS": …}`` trust principal: its ARN, its account, and its role for a session."""
    aliases = (caller.role_arn,) if caller.role_arn else ()
    return PolicyPrincipal("AWS", caller.arn, account=caller.account_id, aliases=aliases)


def _named_principal(caller: Principal) -> PolicyPrincipal:
    """The caller as trust entries that name it specifically: no account, so ``root`` entries do not match.

    A session policy limits what a trust grant to the role ARN gives a session, so for a session that has
    one only its own ARN counts (stricter than AWS, which intersects the grant with the session policy).
    """
    aliases = (caller.role_arn,) if caller.role_arn and caller.session_policy is None else ()
    return PolicyPrincipal("AWS", caller.arn, account=None, aliases=aliases)


def caller_identity(principal: Principal) -> dict[str, str]:
    return {"UserId": principal.user_id, "Account": principal.account_id, "Arn": principal.arn}
