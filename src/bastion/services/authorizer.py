"""The one authorization decision point, used by every API front and by the MQTT broker.

Rules (AWS single-account identity-based evaluation, aws-notes §1.3 and §3):

* the account root may do everything;
* an IAM user is governed by its inline and attached policies;
* a role session by its role's policies, intersected with its session policy when it has one.

A principal's policies come as *policy sets*; a request is allowed only when every set that applies to
its action allows it, and an explicit Deny in any set wins. Within a set: explicit Deny, then Allow, else
implicit deny.

Compiled policies are cached per owner and dropped when the store's generation number changes (every
change to a policy, version, attachment or role bumps it). API calls check the generation on each
decision; connection views (the broker's hot path) are reloaded by ``watch_generation`` in the
background, well within a second of the change.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from bastion.policy import CompiledPolicy, Decision, Request, evaluate
from bastion.services.connection_authz import ConnectionFacts, ReloadCallback
from bastion.services.iam.service import IamService
from bastion.services.identity import Principal, PrincipalKind
from bastion.services.policy_documents import PolicyKind, check_policy
from bastion.storage import interfaces as st

log = logging.getLogger("bastion.authorizer")

# A connection view caches at most this many (action, resource) decisions before starting afresh.
VIEW_CACHE_LIMIT = 8192
GENERATION_POLL_SECONDS = 0.25


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


ALLOW_ROOT = AuthzDecision(True, Outcome.ALLOWED, (), "the account root may do everything")


@dataclass(frozen=True, slots=True)
class PolicySet:
    """Policies that must allow an action together with the principal's other sets."""

    name: str
    policies: tuple[CompiledPolicy, ...]
    # Lower-cased actions this set governs; None means every action.
    actions: frozenset[str] | None = None

    def applies_to(self, action: str) -> bool:
        return self.actions is None or action.lower() in self.actions

    def bind(self, variables: Mapping[str, str]) -> PolicySet:
        return PolicySet(self.name, tuple(p.bind(variables) for p in self.policies), self.actions)


def _refs(decision: Decision) -> tuple[str, ...]:
    return tuple(str(ref) for ref in decision.deciding)


def combine_all_must_allow(named: Sequence[tuple[str, Decision]]) -> AuthzDecision:
    """Intersect policy sets: any explicit deny wins; otherwise every set must allow."""
    for name, decision in named:
        if decision.explicit_deny:
            reason = f"explicitly denied by {name}"
            return AuthzDecision(False, Outcome.EXPLICIT_DENY, _refs(decision), reason)
    for name, decision in named:
        if not decision.allowed:
            return AuthzDecision(False, Outcome.IMPLICIT_DENY, (), f"no statement in {name} allows it")
    if not named:
        return AuthzDecision(False, Outcome.IMPLICIT_DENY, (), "no policy applies")
    refs = tuple(ref for _, decision in named for ref in _refs(decision))
    return AuthzDecision(True, Outcome.ALLOWED, refs, "allowed by " + " and ".join(n for n, _ in named))


def decide_with_sets(sets: Sequence[PolicySet], request: Request) -> AuthzDecision:
    applicable = [(s.name, evaluate(s.policies, request)) for s in sets if s.applies_to(request.action)]
    return combine_all_must_allow(applicable)


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


def single_valued(context: Mapping[str, object]) -> dict[str, str]:
    """The context values that can bind ``${…}`` variables (strings only; lists never substitute)."""
    return {key: value for key, value in context.items() if isinstance(value, str)}


class Authorizer:
    def __init__(self, iam: IamService, meta: st.MetaRepository, *, region: str, account_id: str) -> None:
        self._iam = iam
        self._meta = meta
        self.region = region
        self.account_id = account_id
        self._generation = -1
        self._compiled: dict[tuple[str, str], tuple[CompiledPolicy, ...]] = {}
        self._session_policies: dict[str, CompiledPolicy] = {}
        self._views: weakref.WeakSet[ConnectionView] = weakref.WeakSet()

    # ---- generation ---------------------------------------------------------------------------------
    @property
    def generation(self) -> int:
        return self._generation

    async def sync_generation(self) -> bool:
        """Read the store's generation; drop caches if it moved. True when it changed."""
        generation = await self._meta.get_generation()
        if generation == self._generation:
            return False
        self._compiled.clear()
        self._generation = generation
        return True

    async def watch_generation(self, interval: float = GENERATION_POLL_SECONDS) -> None:
        """Run forever: reload every live connection view whenever the generation moves."""
        while True:
            try:
                if await self.sync_generation():
                    await self.reload_views()
            except asyncio.CancelledError:
                raise
            except Exception:  # a store hiccup must not end the watch; the next poll retries
                log.exception("authorization generation watch failed")
            await asyncio.sleep(interval)

    async def reload_views(self) -> None:
        for view in list(self._views):
            with contextlib.suppress(Exception):
                await view.reload()

    # ---- policy sets --------------------------------------------------------------------------------
    async def _owner_policies(self, kind: st.OwnerKind, owner: str) -> tuple[CompiledPolicy, ...]:
        key = (kind, owner.lower())
        cached = self._compiled.get(key)
        if cached is None:
            documents = await self._iam.effective_documents(kind, owner)
            cached = tuple(check_policy(doc, PolicyKind.IDENTITY, label=label) for label, doc in documents)
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

    async def policy_sets(self, principal: Principal) -> list[PolicySet] | None:
        """Every set that must allow a request of ``principal``; None for the root (no limits)."""
        if principal.kind is PrincipalKind.ROOT:
            return None
        if principal.kind is PrincipalKind.IAM_USER:
            assert principal.user_name is not None
            policies = await self._owner_policies("user", principal.user_name)
            return [PolicySet(f"user {principal.user_name}'s policies", policies)]
        assert principal.role_name is not None
        policies = await self._owner_policies("role", principal.role_name)
        sets = [PolicySet(f"role {principal.role_name}'s policies", policies)]
        if principal.session_policy is not None:
            sets.append(PolicySet("the session policy", (self._session_policy(principal.session_policy),)))
        return sets

    # ---- deciding -----------------------------------------------------------------------------------
    async def decide(
        self, principal: Principal, action: str, resource: str, context: Mapping[str, object]
    ) -> AuthzDecision:
        if principal.kind is PrincipalKind.ROOT:
            return ALLOW_ROOT
        await self.sync_generation()
        sets = await self.policy_sets(principal)
        if sets is None:
            return ALLOW_ROOT
        return decide_with_sets(sets, Request(action=action, resource=resource, context=context))

    # ---- connection views (the broker's hot path) ---------------------------------------------------
    def client_arn(self, client_id: str) -> str:
        return f"arn:aws:iot:{self.region}:{self.account_id}:client/{client_id}"

    def topic_arn(self, topic: str) -> str:
        return f"arn:aws:iot:{self.region}:{self.account_id}:topic/{topic}"

    def topic_filter_arn(self, topic_filter: str) -> str:
        return f"arn:aws:iot:{self.region}:{self.account_id}:topicfilter/{topic_filter}"

    def connection_context(
        self, principal: Principal, facts: ConnectionFacts, now: datetime
    ) -> dict[str, object]:
        context = request_context(
            principal, source_ip=facts.source_ip, secure=facts.secure_transport, now=now, region=self.region
        )
        context["iot:ClientId"] = facts.client_id
        if facts.domain_name:
            context["iot:DomainName"] = facts.domain_name
        return context

    async def for_connection(
        self,
        principal: Principal,
        facts: ConnectionFacts,
        on_reload: ReloadCallback | None = None,
        *,
        now: datetime,
    ) -> ConnectionView:
        view = ConnectionView(self, principal, facts, on_reload, now)
        await view.load()
        self._views.add(view)
        return view

    def forget(self, view: ConnectionView) -> None:
        self._views.discard(view)


class ConnectionView:
    """One connection's compiled policies with its variables bound, and a decision cache."""

    def __init__(
        self,
        authorizer: Authorizer,
        principal: Principal,
        facts: ConnectionFacts,
        on_reload: ReloadCallback | None,
        now: datetime,
    ) -> None:
        self._authorizer = authorizer
        self.principal = principal
        self.facts = facts
        self._on_reload = on_reload
        self._context = authorizer.connection_context(principal, facts, now)
        self._sets: list[PolicySet] | None = []
        self._cache: dict[tuple[str, str], bool] = {}
        self._closed = False

    async def load(self) -> None:
        sets = await self._authorizer.policy_sets(self.principal)
        variables = single_valued(self._context)
        self._sets = None if sets is None else [s.bind(variables) for s in sets]
        self._cache = {}

    async def reload(self) -> None:
        if self._closed:
            return
        await self.load()
        if self._on_reload is not None:
            await self._on_reload()

    def allows(self, action: str, resource: str) -> bool:
        key = (action, resource)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        sets = self._sets
        if sets is None:
            allowed = True
        else:
            request = Request(action=action, resource=resource, context=self._context)
            allowed = decide_with_sets(sets, request).allowed
        if len(self._cache) >= VIEW_CACHE_LIMIT:
            self._cache.clear()
        self._cache[key] = allowed
        return allowed

    def explain(self, action: str, resource: str) -> AuthzDecision:
        """The full decision (uncached), for logs and diagnostics."""
        if self._sets is None:
            return ALLOW_ROOT
        return decide_with_sets(self._sets, Request(action=action, resource=resource, context=self._context))

    def close(self) -> None:
        self._closed = True
        self._authorizer.forget(self)
