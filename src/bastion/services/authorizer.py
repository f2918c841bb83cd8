"""The one authorization decision point, used by every API front and by the MQTT broker.

Rules (AWS single-account identity-based evaluation, aws-notes §1.3 and §3):

* the account root may do everything;
* an IAM user is governed by its inline and attached policies;
* a role session by its role's policies, intersected with its session policy when it has one;
* an **authenticated** Cognito identity's session additionally needs an allow from the AWS IoT policies
  attached to its identity id for the data-plane actions in ``DUAL_CHECK`` (no policy attached: implicit
  deny); unauthenticated identities are governed by IAM alone, whatever is attached to them.

A principal's policies come as *policy sets*; a request is allowed only when every set that applies to
its action allows it, and an explicit Deny in any set wins. Within a set: explicit Deny, then Allow, else
implicit deny.

Policy sets are cached per IAM user, role and Cognito identity, each entry for the store generation it
was read at (``GenerationCache``: bounded, and concurrent misses share one read); every change to a
policy, version, attachment or role bumps the generation. ``watch_generation`` polls it and reloads the
connection views (the broker's hot path) well within a second of a change; while it runs, API decisions
trust its reading, which the API refreshes after every write it serves (read-your-writes on a node).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from bastion.policy import CompiledPolicy, Decision, Request, evaluate, parse_policy
from bastion.services.connection_authz import ConnectionFacts, ReloadCallback
from bastion.services.errors import ServiceError
from bastion.services.generation_cache import GenerationCache
from bastion.services.iam.service import IamService
from bastion.services.identity import Principal, PrincipalKind
from bastion.services.policy_documents import PolicyKind, check_policy
from bastion.storage import interfaces as st
from bastion.storage.iot import EffectivePolicy

log = logging.getLogger("bastion.authorizer")

COGNITO_PROVIDER = "cognito-identity.amazonaws.com"
# Data-plane actions for which an authenticated Cognito identity also needs an allowing AWS IoT policy
# (aws-notes 1.3). RetainPublish joins the documented seven: it always comes with a Publish, and the
# IoT policy that scopes Publish down must scope down retained publishes too.
DUAL_CHECK: frozenset[str] = frozenset(
    action.lower()
    for action in (
        "iot:Connect",
        "iot:Publish",
        "iot:Subscribe",
        "iot:Receive",
        "iot:GetThingShadow",
        "iot:UpdateThingShadow",
        "iot:DeleteThingShadow",
        "iot:RetainPublish",
    )
)
# Stands in for an AWS IoT policy that no longer compiles: failing closed, never silently dropping a Deny.
_DENY_ALL = '{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}'

# A connection view caches at most this many (action, resource) decisions before starting afresh.
VIEW_CACHE_LIMIT = 8192
# Compiled AWS IoT policy versions kept by content, across generations.
IOT_COMPILE_CACHE_LIMIT = 4096
# Policy sets kept per generation: per IAM user or role, and per Cognito identity (its AWS IoT policies).
OWNER_CACHE_LIMIT = 4096
IDENTITY_CACHE_LIMIT = 16384
BOUND_CACHE_LIMIT = 64
# A view resolves variables per request until it has evaluated this many requests since its policies
# last changed, then binds them once. Binding costs about as much as fifty evaluations and saves a few
# percent on each later one, so it only pays for connections that keep asking new questions (many
# topics); everyone else stays cheap to update when a shared policy changes.
BIND_AFTER_EVALUATIONS = 64
GENERATION_POLL_SECONDS = 0.25


class Outcome(enum.StrEnum):
    ALLOWED = "ALLOWED"
    EXPLICIT_DENY = "EXPLICIT_DENY"
    IMPLICIT_DENY = "IMPLICIT_DENY"


@dataclass(frozen=True, slots=True)
class PolicyRef:
    """A policy a decision names: an AWS IoT policy, an IAM managed or inline policy, a session policy."""

    name: str
    arn: str | None = None
    kind: str = "iam"  # "iam", "iot" or "session"


@dataclass(frozen=True, slots=True)
class AuthzDecision:
    allowed: bool
    outcome: Outcome
    # Human-readable references to the statements that decided (policy label + statement).
    deciding: tuple[str, ...]
    reason: str
    # The policies behind the outcome: those whose statements allowed (ALLOWED) or denied (EXPLICIT_DENY);
    # for an implicit deny, every policy of the set(s) that allowed nothing.
    policies: tuple[PolicyRef, ...] = ()


ALLOW_ROOT = AuthzDecision(True, Outcome.ALLOWED, (), "the account root may do everything")


@dataclass(frozen=True, slots=True)
class PolicySet:
    """Policies that must allow an action together with the principal's other sets."""

    name: str
    policies: tuple[CompiledPolicy, ...]
    # Lower-cased actions this set governs; None means every action.
    actions: frozenset[str] | None = None
    # Policy label -> what the policy is (for decisions that name policies, e.g. TestAuthorization).
    refs: Mapping[str, PolicyRef] = field(default_factory=dict)
    # Said instead of "no statement allows it" when the set is empty (e.g. no AWS IoT policy attached).
    empty_reason: str = ""

    def applies_to(self, action: str) -> bool:
        return self.actions is None or action.lower() in self.actions

    def bind(self, variables: Mapping[str, str]) -> PolicySet:
        bound = tuple(p.bind(variables) for p in self.policies)
        return PolicySet(self.name, bound, self.actions, self.refs, self.empty_reason)

    def ref(self, label: str) -> PolicyRef:
        return self.refs.get(label) or PolicyRef(label)

    def all_refs(self) -> tuple[PolicyRef, ...]:
        return tuple(self.ref(p.label) for p in self.policies)


def _refs(decision: Decision) -> tuple[str, ...]:
    return tuple(str(ref) for ref in decision.deciding)


def _unique(refs: Iterable[PolicyRef]) -> tuple[PolicyRef, ...]:
    return tuple(dict.fromkeys(refs))


def _deciding_policies(policy_set: PolicySet, decision: Decision) -> tuple[PolicyRef, ...]:
    return _unique(policy_set.ref(ref.policy) for ref in decision.deciding)


def combine_all_must_allow(named: Sequence[tuple[PolicySet, Decision]]) -> AuthzDecision:
    """Intersect policy sets: any explicit deny wins; otherwise every set must allow."""
    denied = [(s, d) for s, d in named if d.explicit_deny]
    if denied:
        refs = tuple(ref for _, d in denied for ref in _refs(d))
        policies = _unique(p for s, d in denied for p in _deciding_policies(s, d))
        reason = "explicitly denied by " + " and by ".join(s.name for s, _ in denied)
        return AuthzDecision(False, Outcome.EXPLICIT_DENY, refs, reason, policies)
    short = [s for s, d in named if not d.allowed]
    if short:
        reasons = [
            s.empty_reason if not s.policies and s.empty_reason else f"no statement in {s.name} allows it"
            for s in short
        ]
        policies = _unique(p for s in short for p in s.all_refs())
        return AuthzDecision(False, Outcome.IMPLICIT_DENY, (), "; ".join(reasons), policies)
    if not named:
        return AuthzDecision(False, Outcome.IMPLICIT_DENY, (), "no policy applies")
    refs = tuple(ref for _, decision in named for ref in _refs(decision))
    policies = _unique(p for s, d in named for p in _deciding_policies(s, d))
    reason = "allowed by " + " and ".join(s.name for s, _ in named)
    return AuthzDecision(True, Outcome.ALLOWED, refs, reason, policies)


def decide_with_sets(sets: Sequence[PolicySet], request: Request) -> AuthzDecision:
    applicable = [(s, evaluate(s.policies, request)) for s in sets if s.applies_to(request.action)]
    return combine_all_must_allow(applicable)


def dual_checked_identity(principal: Principal) -> str | None:
    """The identity id whose AWS IoT policies also govern ``principal`` (authenticated Cognito only)."""
    web = principal.web_identity
    if web is not None and web.provider == COGNITO_PROVIDER and web.authenticated:
        return web.subject
    return None


def iam_policy_ref(label: str) -> PolicyRef:
    """Name an IAM policy from the label IamService.effective_documents gives it."""
    if label.startswith("arn:"):
        arn = label.rsplit(" (", 1)[0]
        return PolicyRef(arn.rsplit("/", 1)[-1], arn, "iam")
    return PolicyRef(label.rsplit(" inline policy ", 1)[-1], None, "iam")


# AWS IoT policies compiled for one target, and what each label names.
IotCompiled = tuple[tuple[CompiledPolicy, ...], Mapping[str, PolicyRef]]


def iot_policy_label(effective: EffectivePolicy) -> str:
    return f"AWS IoT policy {effective.policy.name} (version {effective.version.version_id})"


def compile_iot_policy(label: str, document: str) -> CompiledPolicy:
    """Compile one AWS IoT policy version; a document that no longer compiles is replaced by a
    Deny-everything policy (fail closed, never silently dropping a Deny), and logged."""
    result = parse_policy(document, label=label)
    if result.policy is None:
        log.error("%s no longer compiles (%s); it denies everything instead", label, result.error_message)
        result = parse_policy(_DENY_ALL, label=label)
    assert result.policy is not None
    return result.policy


def compile_iot_policies(
    effective: Sequence[EffectivePolicy], cache: dict[tuple[str, str], CompiledPolicy] | None = None
) -> IotCompiled:
    """Compile the default versions of AWS IoT policies, naming each.

    ``cache`` maps (label, document) to the compiled policy. It may outlive generations: the key is the
    content, so a hit is always right, and the one policy the AWS samples attach to every identity is
    compiled once rather than once per identity.
    """
    policies: list[CompiledPolicy] = []
    refs: dict[str, PolicyRef] = {}
    for item in effective:
        label = iot_policy_label(item)
        key = (label, item.version.document)
        compiled = cache.get(key) if cache is not None else None
        if compiled is None:
            compiled = compile_iot_policy(label, item.version.document)
            if cache is not None:
                if len(cache) >= IOT_COMPILE_CACHE_LIMIT:
                    cache.clear()
                cache[key] = compiled
        policies.append(compiled)
        refs[label] = PolicyRef(item.policy.name, item.policy.arn, "iot")
    return tuple(policies), refs


def iot_set(target: str, compiled: IotCompiled, actions: frozenset[str] | None = DUAL_CHECK) -> PolicySet:
    policies, refs = compiled
    return PolicySet(
        f"the AWS IoT policies attached to {target}",
        policies,
        actions,
        refs,
        empty_reason=f"no AWS IoT policy is attached to {target}, and an authenticated Cognito identity "
        "needs one that allows the action",
    )


class IotPolicySource(Protocol):
    """Where the authorizer reads AWS IoT policies (IotPolicyService)."""

    async def effective_policies(self, target: str) -> Sequence[EffectivePolicy]: ...

    async def named_policies(self, names: Sequence[str]) -> Sequence[EffectivePolicy]: ...


@dataclass(frozen=True, slots=True)
class ThingFacts:
    """The thing an MQTT connection's client id names, when it is attached to the connecting principal."""

    name: str
    type_name: str | None = None
    attributes: Mapping[str, str] = field(default_factory=dict)


class ThingDirectory(Protocol):
    """Resolves ``iot:Connection.Thing.*`` (things arrive with the registry): only over MQTT, only when the
    client id is a thing's name and that thing is attached to the principal, as AWS resolves them."""

    async def connection_thing(self, principal: Principal, client_id: str) -> ThingFacts | None: ...


def thing_variables(thing: ThingFacts | None) -> dict[str, str]:
    if thing is None:
        return {}
    out = {"iot:Connection.Thing.ThingName": thing.name, "iot:Connection.Thing.IsAttached": "true"}
    if thing.type_name:
        out["iot:Connection.Thing.ThingTypeName"] = thing.type_name
    for key, value in thing.attributes.items():
        out[f"iot:Connection.Thing.Attributes[{key}]"] = value
    return out


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
            PrincipalKind.ANONYMOUS: "Anonymous",
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
    def __init__(
        self,
        iam: IamService,
        meta: st.MetaRepository,
        *,
        region: str,
        account_id: str,
        iot: IotPolicySource | None = None,
        things: ThingDirectory | None = None,
    ) -> None:
        self._iam = iam
        self._meta = meta
        self.region = region
        self.account_id = account_id
        self.iot = iot
        self.things = things
        self._generation = -1
        # The generation the live views were last reloaded for (the watch's, whoever noticed it first).
        self._views_generation = -1
        self._watching = 0  # running generation watches
        current = self._current_generation
        self._owner_sets: GenerationCache[tuple[str, str], PolicySet] = GenerationCache(
            OWNER_CACHE_LIMIT, current
        )
        self._iot_compiled: GenerationCache[str, IotCompiled] = GenerationCache(IDENTITY_CACHE_LIMIT, current)
        self._bound: GenerationCache[tuple[str, ...], PolicySet] = GenerationCache(BOUND_CACHE_LIMIT, current)
        self._iot_by_content: dict[tuple[str, str], CompiledPolicy] = {}
        self._session_policies: dict[str, CompiledPolicy] = {}
        self._views: weakref.WeakSet[ConnectionView] = weakref.WeakSet()

    # ---- generation ---------------------------------------------------------------------------------
    @property
    def generation(self) -> int:
        """The store's generation as last read: what every cache here (and the broker's credential
        cache) is valid for."""
        return self._generation

    def _current_generation(self) -> int:
        return self._generation

    async def sync_generation(self) -> bool:
        """Read the store's generation; drop caches if it moved. True when it changed."""
        generation = await self._meta.get_generation()
        if generation == self._generation:
            return False
        self._generation = generation  # first: reads still in flight then belong to an older generation
        self._owner_sets.clear()
        self._iot_compiled.clear()
        self._bound.clear()
        return True

    async def watch_generation(self, interval: float = GENERATION_POLL_SECONDS) -> None:
        """Run forever: reload every live connection view whenever the generation moves (also when an
        API write noticed the move first). While it runs, decisions trust its last reading instead of
        reading the store each time (see ``decide``)."""
        self._watching += 1
        try:
            while True:
                try:
                    await self.sync_generation()
                    if self._views_generation != self._generation:
                        self._views_generation = self._generation
                        await self.reload_views()
                except asyncio.CancelledError:
                    raise
                except Exception:  # a store hiccup must not end the watch; the next poll retries
                    log.exception("authorization generation watch failed")
                await asyncio.sleep(interval)
        finally:
            self._watching -= 1

    async def reload_views(self) -> None:
        for view in list(self._views):
            with contextlib.suppress(Exception):
                await view.reload()

    # ---- policy sets --------------------------------------------------------------------------------
    async def _owner_set(self, kind: st.OwnerKind, owner: str) -> PolicySet:
        """The IAM policies of a user or role, compiled and named (cached for the generation)."""

        async def load() -> PolicySet:
            documents = await self._iam.effective_documents(kind, owner)
            policies = tuple(check_policy(doc, PolicyKind.IDENTITY, label=label) for label, doc in documents)
            refs = {p.label: iam_policy_ref(p.label) for p in policies}
            return PolicySet(f"{kind} {owner}'s policies", policies, refs=refs)

        return await self._owner_sets.get((kind, owner.lower()), load)  # IAM names ignore case

    async def _bound_set(self, principal: Principal) -> PolicySet:
        """The policies configured for an ANONYMOUS principal (cached for the generation)."""

        async def load() -> PolicySet:
            bound = await self._bound_policies(principal)
            return PolicySet("the policies bound to anonymous MQTT clients", bound)

        return await self._bound.get(principal.bound_policies, load)

    async def _bound_policies(self, principal: Principal) -> tuple[CompiledPolicy, ...]:
        """Compile the policies configured for an ANONYMOUS principal. A policy that does not exist
        contributes nothing (so allows nothing); a document that does not compile is refused at start."""
        policies: list[CompiledPolicy] = []
        iot_names: list[str] = []
        for spec in principal.bound_policies:
            if spec.lstrip().startswith("{"):
                policies.append(check_policy(spec, PolicyKind.IDENTITY, label="inline policy for anonymous"))
            elif spec.startswith("arn:"):
                try:
                    managed = await self._iam.get_managed_policy(spec)
                    version = await self._iam.get_policy_version(spec, managed.default_version_id)
                except ServiceError:
                    continue
                label = f"{spec} ({version.version_id})"
                policies.append(check_policy(version.document, PolicyKind.IDENTITY, label=label))
            else:
                iot_names.append(spec)
        if iot_names and self.iot is not None:
            policies.extend(compile_iot_policies(await self.iot.named_policies(iot_names))[0])
        return tuple(policies)

    def _session_policy(self, document: str) -> CompiledPolicy:
        compiled = self._session_policies.get(document)
        if compiled is None:
            if len(self._session_policies) > 1024:
                self._session_policies.clear()
            compiled = check_policy(document, PolicyKind.IDENTITY, label="session policy")
            self._session_policies[document] = compiled
        return compiled

    async def policy_sets(
        self, principal: Principal, *, iot_policies: IotCompiled | None = None
    ) -> list[PolicySet] | None:
        """Every set that must allow a request of ``principal``; None for the root (no limits).

        ``iot_policies`` replaces the AWS IoT policies attached to a dual-checked identity (simulations).
        """
        if principal.kind is PrincipalKind.ROOT:
            return None
        if principal.kind is PrincipalKind.IAM_USER:
            assert principal.user_name is not None
            return [await self._owner_set("user", principal.user_name)]
        if principal.kind is PrincipalKind.ANONYMOUS:
            return [await self._bound_set(principal)]
        assert principal.role_name is not None
        sets = [await self._owner_set("role", principal.role_name)]
        if principal.session_policy is not None:
            session = self._session_policy(principal.session_policy)
            sets.append(
                PolicySet("the session policy", (session,), refs={session.label: PolicyRef("session policy")})
            )
        identity = dual_checked_identity(principal)
        if identity is not None:
            compiled = iot_policies if iot_policies is not None else await self._iot_policies(identity)
            sets.append(iot_set(identity, compiled))
        return sets

    async def _iot_policies(self, target: str) -> IotCompiled:
        async def load() -> IotCompiled:
            effective = await self.iot.effective_policies(target) if self.iot is not None else ()
            return compile_iot_policies(effective, self._iot_by_content)

        return await self._iot_compiled.get(target, load)

    async def simulation_sets(
        self,
        target: str,
        *,
        principal: Principal | None = None,
        add: Sequence[str] = (),
        skip: Sequence[str] = (),
    ) -> list[PolicySet]:
        """The sets TestAuthorization evaluates for ``target``: the principal's own sets when it is known
        (its IoT set adjusted by ``add``/``skip``), else the target's AWS IoT policies alone."""
        await self.sync_generation()
        policies, refs = await self._iot_policies(target)
        if add or skip:
            dropped = set(skip)
            kept = [p for p in policies if refs[p.label].name not in dropped]
            present = {refs[p.label].name for p in kept}
            wanted = [name for name in dict.fromkeys(add) if name not in dropped and name not in present]
            extra = await self.iot.named_policies(wanted) if self.iot is not None and wanted else ()
            more, more_refs = compile_iot_policies(extra, self._iot_by_content)
            policies, refs = (*kept, *more), {**refs, **more_refs}
        if principal is None:
            return [iot_set(target, (policies, refs), actions=None)]
        return await self.policy_sets(principal, iot_policies=(policies, refs)) or []

    # ---- deciding -----------------------------------------------------------------------------------
    async def decide(
        self, principal: Principal, action: str, resource: str, context: Mapping[str, object]
    ) -> AuthzDecision:
        if principal.kind is PrincipalKind.ROOT:
            return ALLOW_ROOT
        if not self._watching:
            # Without the watch (embedded use, tests) every decision reads the generation itself. With
            # it, the watch's reading is at most one poll old, and writes served by this node refresh it
            # before they are answered (api.app): a store read per request saved, as for connections.
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
        if facts.connect_attributes:
            context["iot:ConnectAttributes"] = list(facts.connect_attributes)
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
        generation = self._generation
        await view.load()
        # A change noticed while loading may have reloaded the live views without this one: load again.
        while generation != self._generation:
            generation = self._generation
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
        self._base_context = authorizer.connection_context(principal, facts, now)
        self._context = self._base_context
        self._sets: list[PolicySet] | None = []
        # What the bound sets are made from; a reload that finds the same keeps them and the cache.
        self._source: tuple[list[PolicySet] | None, dict[str, object]] | None = None
        self._unbound = False  # the source changed and is not bound yet
        self._evaluations = 0  # since the source last changed
        self._cache: dict[tuple[str, str], bool] = {}
        self._closed = False

    async def load(self) -> bool:
        """Read this connection's policy sets; False when nothing its decisions depend on changed.

        Any change anywhere bumps the one generation, and most leave a given connection's policies as
        they were: comparing them costs microseconds and keeps every cached answer. A real change empties
        the cache and leaves the binding (a few hundred microseconds) to the next decision, so a change
        reaching thousands of open connections costs the reload almost nothing per connection.
        """
        sets = await self._authorizer.policy_sets(self.principal)
        context = self._base_context
        things = self._authorizer.things
        if things is not None:
            thing = await things.connection_thing(self.principal, self.facts.client_id)
            context = {**self._base_context, **thing_variables(thing)}
        if self._source is not None and self._source == (sets, context):
            return False
        self._source = (sets, context)
        self._context = context
        self._sets = sets
        self._unbound = True
        self._evaluations = 0
        self._cache = {}
        return True

    def _bound_sets(self) -> list[PolicySet] | None:
        """The sets to evaluate: as read (variables resolved from the context per request) until the view
        has evaluated enough requests to make binding them pay, then bound once."""
        if self._unbound:
            self._evaluations += 1
            if self._evaluations > BIND_AFTER_EVALUATIONS and self._source is not None:
                sets, context = self._source
                variables = single_valued(context)
                self._sets = None if sets is None else [s.bind(variables) for s in sets]
                self._unbound = False
        return self._sets

    async def reload(self) -> None:
        if self._closed:
            return
        if await self.load() and self._on_reload is not None:
            await self._on_reload()

    def allows(self, action: str, resource: str) -> bool:
        key = (action, resource)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        sets = self._bound_sets()
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
        sets = self._bound_sets()
        if sets is None:
            return ALLOW_ROOT
        return decide_with_sets(sets, Request(action=action, resource=resource, context=self._context))

    def close(self) -> None:
        self._closed = True
        self._authorizer.forget(self)
