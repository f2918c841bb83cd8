"""TestAuthorization and GetEffectivePolicies, answered from the one decision point.

TestAuthorization builds its policy sets with ``Authorizer.simulation_sets`` and evaluates them with
``decide_with_sets``: the same code that decides for the broker's connection views and the HTTP API. For
a Cognito identity whose session Bastion can reconstruct (a ``CognitoPrincipals`` resolver, registered by
identity pools), the answer is the complete two-policy decision; otherwise, as AWS documents the
operation, the AWS IoT policies attached to the principal alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bastion.policy import Request
from bastion.services.authorizer import (
    COGNITO_PROVIDER,
    Authorizer,
    AuthzDecision,
    Outcome,
    PolicyRef,
    PolicySet,
    decide_with_sets,
    request_context,
)
from bastion.services.errors import InvalidInputError
from bastion.services.identity import Principal
from bastion.services.iot.policies import IotPolicyService
from bastion.services.iot.targets import TargetKind
from bastion.storage.iot import EffectivePolicy

ACTION_TYPES: Mapping[str, str] = {
    "CONNECT": "iot:Connect",
    "PUBLISH": "iot:Publish",
    "SUBSCRIBE": "iot:Subscribe",
    "RECEIVE": "iot:Receive",
}
# Canonical spellings of the context keys a policy may use as variables (policies keep them lower-cased).
_KEY_SPELLING = {
    key.lower(): key
    for key in (
        "iot:ClientId",
        "iot:DomainName",
        "aws:SourceIp",
        "aws:username",
        "aws:userid",
        f"{COGNITO_PROVIDER}:sub",
        f"{COGNITO_PROVIDER}:aud",
        f"{COGNITO_PROVIDER}:amr",
        "iot:Connection.Thing.ThingName",
        "iot:Connection.Thing.ThingTypeName",
        "iot:Connection.Thing.IsAttached",
    )
}


class CognitoPrincipals(Protocol):
    """The session a Cognito identity's credentials would carry (its pool's role), if known."""

    async def principal_for(self, identity_id: str, pool_id: str | None) -> Principal | None: ...


@dataclass(frozen=True, slots=True)
class AuthResult:
    action_type: str
    resources: tuple[str, ...]
    outcome: Outcome
    allowed: tuple[PolicyRef, ...]
    explicit_deny: tuple[PolicyRef, ...]
    implicit_deny: tuple[PolicyRef, ...]
    missing_context_values: tuple[str, ...]
    reasons: tuple[str, ...]


def _combine(decisions: Sequence[AuthzDecision]) -> tuple[Outcome, dict[Outcome, tuple[PolicyRef, ...]]]:
    by_outcome: dict[Outcome, tuple[PolicyRef, ...]] = {}
    for decision in decisions:
        merged = by_outcome.get(decision.outcome, ()) + decision.policies
        by_outcome[decision.outcome] = tuple(dict.fromkeys(merged))
    if Outcome.EXPLICIT_DENY in by_outcome:
        return Outcome.EXPLICIT_DENY, by_outcome
    if Outcome.IMPLICIT_DENY in by_outcome or not decisions:
        return Outcome.IMPLICIT_DENY, by_outcome
    return Outcome.ALLOWED, by_outcome


def _missing(sets: Iterable[PolicySet], action: str, context: Mapping[str, object]) -> tuple[str, ...]:
    present = {key.lower() for key in context}
    keys: set[str] = set()
    for policy_set in sets:
        if policy_set.applies_to(action):
            for policy in policy_set.policies:
                keys |= policy.variable_keys
    return tuple(sorted(_KEY_SPELLING.get(key, key) for key in keys - present))


class IotAuthorizationService:
    def __init__(
        self,
        authorizer: Authorizer,
        policies: IotPolicyService,
        *,
        principals: CognitoPrincipals | None = None,
    ) -> None:
        self._authorizer = authorizer
        self._policies = policies
        self.principals = principals

    def _context(
        self,
        target: str,
        kind: TargetKind,
        principal: Principal | None,
        client_id: str | None,
        pool_id: str | None,
        now: datetime,
    ) -> dict[str, object]:
        if principal is not None:
            context = request_context(
                principal, source_ip="", secure=True, now=now, region=self._authorizer.region
            )
            del context["aws:SourceIp"]  # a simulation has no connection to take it from
        else:
            context = {
                "aws:CurrentTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "aws:EpochTime": int(now.timestamp()),
            }
            if kind is TargetKind.COGNITO_IDENTITY:
                context[f"{COGNITO_PROVIDER}:sub"] = target
                if pool_id:
                    context[f"{COGNITO_PROVIDER}:aud"] = pool_id
        if client_id is not None:
            context["iot:ClientId"] = client_id
        return context

    async def test_authorization(
        self,
        target: str,
        auth_infos: Sequence[tuple[str, Sequence[str]]],
        *,
        client_id: str | None,
        pool_id: str | None,
        add: Sequence[str] = (),
        skip: Sequence[str] = (),
        now: datetime,
    ) -> list[AuthResult]:
        kind = self._policies.targets.kind_of(target)
        principal = None
        if kind is TargetKind.COGNITO_IDENTITY and self.principals is not None:
            principal = await self.principals.principal_for(target, pool_id)
        sets = await self._authorizer.simulation_sets(target, principal=principal, add=add, skip=skip)
        context = self._context(target, kind, principal, client_id, pool_id, now)
        results: list[AuthResult] = []
        for action_type, resources in auth_infos:
            action = ACTION_TYPES.get(action_type)
            if action is None:
                raise InvalidInputError(
                    f"Invalid actionType: {action_type}. Use one of {', '.join(ACTION_TYPES)}."
                )
            decisions = [decide_with_sets(sets, Request(action, r, context)) for r in resources]
            outcome, by_outcome = _combine(decisions)
            results.append(
                AuthResult(
                    action_type,
                    tuple(resources),
                    outcome,
                    by_outcome.get(Outcome.ALLOWED, ()) if outcome is Outcome.ALLOWED else (),
                    by_outcome.get(Outcome.EXPLICIT_DENY, ()),
                    by_outcome.get(Outcome.IMPLICIT_DENY, ()),
                    _missing(sets, action, context),
                    tuple(dict.fromkeys(d.reason for d in decisions)),
                )
            )
        return results

    async def effective_policies(self, target: str) -> Sequence[EffectivePolicy]:
        self._policies.targets.kind_of(target)
        return await self._policies.effective_policies(target)
