"""The one authorization decision point, used by every API front (and, later, by the MQTT broker).

Rules (AWS single-account identity-based evaluation, aws-notes §3):

* the account root may do everything;
* an IAM user is governed by its inline and attached policies;
* a role session by its role's policies, intersected with its session policy when it has one.

Within each policy set an explicit Deny wins, then an Allow, else the request is implicitly denied. Compiled
policies are cached per owner and rebuilt when the store's generation number changes (every change to a
policy, version, attachment or role bumps it), so a change applies to the next decision.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from bastion.policy import CompiledPolicy, Decision, Request, evaluate
from bastion.services.iam.service import IamService
from bastion.services.identity import Principal, PrincipalKind
from bastion.services.policy_documents import PolicyKind, check_policy
from bastion.storage import interfaces as st


class Outcome(enum.StrEnum):
    ALLOWED = "ALLOWED"
    EXPLICIT_DENY = "EXPLICIT_DENY"
    IMPLICIT_DENY = "IMPLICIT_DENY"


@dataclass(frozen=True, slots=True)
class AuthzDecision:
    allowed: bool
    outcome: Outcome
    # Human-readable references to the statements that decided (policy label + statement).
    deciding: tuple[str, ...]
    reason: str


def _outcome_of(decision: Decision) -> Outcome:
    if decision.allowed:
        return Outcome.ALLOWED
    return Outcome.EXPLICIT_DENY if decision.explicit_deny else Outcome.IMPLICIT_DENY


def _refs(decision: Decision) -> tuple[str, ...]:
    return tuple(str(ref) for ref in decision.deciding)


def combine_all_must_allow(named: Sequence[tuple[str, Decision]]) -> AuthzDecision:
    """Intersect policy sets: any explicit deny wins; otherwise every set must allow."""
    for name, decision in named:
        if decision.explicit_deny:
            return AuthzDecision(
                False, Outcome.EXPLICIT_DENY, _refs(decision), f"explicitly denied by {name}"
            )
    for name, decision in named:
        if not decision.allowed:
            return AuthzDecision(False, Outcome.IMPLICIT_DENY, (), f"no statement in {name} allows it")
    refs = tuple(ref for _, decision in named for ref in _refs(decision))
    return AuthzDecision(True, Outcome.ALLOWED, refs, "allowed by " + " and ".join(n for n, _ in named))


def request_context(
    principal: Principal, *, source_ip: str, secure: bool, now: datetime, region: str
) -> dict[str, object]:
    """The global condition keys AWS sets for a request from this principal."""
    context: dict[str, object] = {
        "aws:SourceIp": source_ip,
        "aws:SecureTransport": secure,
        "aws:CurrentTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "aws:EpochTime": int(now.timestamp()),
        "aws:PrincipalArn": principal.role_arn or principal.arn,
        "aws:PrincipalAccount": principal.account_id,
        "aws:userid": principal.user_id,
        "aws:RequestedRegion": region,
        "aws:PrincipalType": {
            PrincipalKind.ROOT: "Account",
            PrincipalKind.IAM_USER: "User",
            PrincipalKind.ROLE_SESSION: "AssumedRole",
        }[principal.kind],
    }
    if principal.user_name:
        context["aws:username"] = principal.user_name
    if principal.source_identity:
        context["aws:SourceIdentity"] = principal.source_identity
    web = principal.web_identity
    if web is not None:
        context[f"{web.provider}:sub"] = web.subject
        context[f"{web.provider}:aud"] = web.audience
        context[f"{web.provider}:amr"] = list(web.amr)
    return context


class Authorizer:
    def __init__(self, iam: IamService, meta: st.MetaRepository) -> None:
        self._iam = iam
        self._meta = meta
        self._generation = -1
        self._compiled: dict[tuple[str, str], list[CompiledPolicy]] = {}
        self._session_policies: dict[str, CompiledPolicy] = {}

    async def _sync_generation(self) -> None:
        generation = await self._meta.get_generation()
        if generation != self._generation:
            self._compiled.clear()
            self._generation = generation

    async def _owner_policies(self, kind: st.OwnerKind, owner: str) -> list[CompiledPolicy]:
        key = (kind, owner.lower())
        cached = self._compiled.get(key)
        if cached is None:
            documents = await self._iam.effective_documents(kind, owner)
            cached = [check_policy(doc, PolicyKind.IDENTITY, label=label) for label, doc in documents]
            self._compiled[key] = cached
        return cached

    def _session_policy(self, document: str) -> CompiledPolicy:
        compiled = self._session_policies.get(document)
        if compiled is None:
            if len(self._session_policies) > 1024:
                self._session_policies.clear()
            compiled = check_policy(document, PolicyKind.IDENTITY, label="session policy")
            self._session_policies[document] = compiled
        return compiled

    async def decide(
        self, principal: Principal, action: str, resource: str, context: Mapping[str, object]
    ) -> AuthzDecision:
        if principal.kind is PrincipalKind.ROOT:
            return AuthzDecision(True, Outcome.ALLOWED, (), "the account root may do everything")
        await self._sync_generation()
        request = Request(action=action, resource=resource, context=context)
        if principal.kind is PrincipalKind.IAM_USER:
            assert principal.user_name is not None
            policies = await self._owner_policies("user", principal.user_name)
            return combine_all_must_allow(
                [(f"user {principal.user_name}'s policies", evaluate(policies, request))]
            )
        assert principal.role_name is not None
        policies = await self._owner_policies("role", principal.role_name)
        sets = [(f"role {principal.role_name}'s policies", evaluate(policies, request))]
        if principal.session_policy is not None:
            sets.append(
                ("the session policy", evaluate([self._session_policy(principal.session_policy)], request))
            )
        return combine_all_must_allow(sets)
