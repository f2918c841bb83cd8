"""Compiled policies: a document turned into structures that answer requests quickly.

Each policy indexes its statements by action name (a set lookup on the lower-cased name,
then a prefix tuple, then globs, computed once per distinct action). A request then only
visits the statements its action admits, and checks them cheapest first: the resource
(same structure, plus variable templates), the principal (trust policies only), then the
conditions.
"""

from __future__ import annotations

from collections.abc import Mapping

from bastion.policy.conditions import CompiledCondition, compile_conditions
from bastion.policy.decision import PolicyMatch, StatementRef
from bastion.policy.document import Effect, PolicyDocument, PolicyKind, PrincipalBlock, Statement
from bastion.policy.glob import Glob, GlobSet
from bastion.policy.patternset import PatternSet
from bastion.policy.render import render_document
from bastion.policy.request import Principal, Request


class _Actions:
    __slots__ = ("_names", "_negated")

    def __init__(self, actions: tuple[str, ...], negated: bool) -> None:
        self._names = GlobSet(Glob.from_text(action.lower()) for action in actions)
        self._negated = negated

    def match(self, action_key: str) -> bool:
        return self._names.match(action_key) is not self._negated


class _Principals:
    """Principal/NotPrincipal. Account entries (``123456789012`` or ``arn:...:iam::ACCT:root``)
    stand for every principal of that account; other entries are compared exactly."""

    __slots__ = ("_everyone", "_kinds")

    def __init__(self, block: PrincipalBlock) -> None:
        self._everyone = block.everyone
        self._kinds: dict[str, tuple[bool, frozenset[str], frozenset[str]]] = {}
        for kind, ids in block.entries:
            star, exact, accounts = self._kinds.get(kind, (False, frozenset(), frozenset()))
            for identifier in ids:
                account = _account_of(identifier) if kind == "AWS" else None
                if identifier == "*":
                    star = True
                elif account is not None:
                    accounts = accounts | {account}
                else:
                    exact = exact | {identifier}
            self._kinds[kind] = (star, exact, accounts)

    def names_any(self, principal: Principal | None) -> bool:
        """Principal semantics: some identity of the caller is listed."""
        if self._everyone:
            return True
        if principal is None:
            return False
        entry = self._kinds.get(principal.kind)
        if entry is None:
            return False
        star, exact, accounts = entry
        return (
            star
            or any(identity in exact for identity in principal.identities)
            or (principal.account is not None and principal.account in accounts)
        )

    def names_all(self, principal: Principal | None) -> bool:
        """For NotPrincipal: every identity of the caller (session, role, account) is listed.

        AWS checks the account, the role and the session separately, so a NotPrincipal that
        lists a session but not its account still applies to that session.
        """
        if self._everyone:
            return True
        if principal is None:
            return False
        entry = self._kinds.get(principal.kind)
        if entry is None:
            return False
        star, exact, accounts = entry
        if star:
            return True
        return all(identity in exact for identity in principal.identities) and (
            principal.account is None or principal.account in accounts
        )


def _account_of(identifier: str) -> str | None:
    if len(identifier) == 12 and identifier.isdigit():
        return identifier
    parts = identifier.split(":")
    if len(parts) == 6 and parts[0] == "arn" and parts[2] == "iam" and parts[5] == "root":
        return parts[4]
    return None


class _CompiledStatement:
    __slots__ = (
        "_actions",
        "_conditions",
        "_not_principal",
        "_not_resource",
        "_principals",
        "_resources",
        "deny",
        "ref",
    )

    def __init__(self, statement: Statement, ref: StatementRef) -> None:
        self.ref = ref
        self.deny = statement.effect is Effect.DENY
        self._actions = _Actions(statement.actions, statement.not_action)
        self._resources = None if statement.resources is None else PatternSet(statement.resources)
        self._not_resource = statement.not_resource
        self._principals = None if statement.principal is None else _Principals(statement.principal)
        self._not_principal = statement.not_principal
        self._conditions: tuple[CompiledCondition, ...] = compile_conditions(statement.conditions)

    def matches_action(self, action_key: str) -> bool:
        return self._actions.match(action_key)

    def applies(self, request: Request) -> bool:
        """Whether the statement applies, given that its action already matched."""
        resources = self._resources
        if (
            resources is not None
            and resources.match(request.resource, request.variable) is self._not_resource
        ):
            return False
        principals = self._principals
        if principals is not None:
            if self._not_principal:
                if principals.names_all(request.principal):
                    return False
            elif not principals.names_any(request.principal):
                return False
        for condition in self._conditions:  # noqa: SIM110 - a plain loop is cheaper than any()/all() on the hot path
            if not condition.holds(request):
                return False
        return True


class CompiledPolicy:
    """A validated policy ready for evaluation. Immutable; share it freely.

    Equality compares kind and document (not the label), so a policy equals what its own
    :meth:`render` parses back to.
    """

    __slots__ = ("_by_action", "_statements", "document", "kind", "label", "variable_keys")

    def __init__(
        self, document: PolicyDocument, kind: PolicyKind = PolicyKind.IDENTITY, label: str = ""
    ) -> None:
        self.document = document
        self.kind = kind
        self.label = label
        self.variable_keys: frozenset[str] = document.variable_keys()
        self._statements = tuple(
            _CompiledStatement(statement, StatementRef(label, index, statement.sid))
            for index, statement in enumerate(document.statements)
        )
        # Action name -> statements whose Action/NotAction admits it. Actions come from the
        # server's own operation names, a small set; the bound only guards against misuse.
        self._by_action: dict[str, tuple[_CompiledStatement, ...]] = {}

    def _candidates(self, action_key: str) -> tuple[_CompiledStatement, ...]:
        found = self._by_action.get(action_key)
        if found is None:
            found = tuple(s for s in self._statements if s.matches_action(action_key))
            if len(self._by_action) >= _ACTION_INDEX_LIMIT:
                self._by_action.clear()
            self._by_action[action_key] = found
        return found

    def collect(self, request: Request, allows: list[StatementRef], denies: list[StatementRef]) -> None:
        """Append the refs of the statements that apply to ``request`` (evaluate's inner loop)."""
        for statement in self._candidates(request.action_key):
            if statement.applies(request):
                (denies if statement.deny else allows).append(statement.ref)

    def match(self, request: Request) -> PolicyMatch:
        """The statements of this policy that apply to ``request``."""
        allows: list[StatementRef] = []
        denies: list[StatementRef] = []
        self.collect(request, allows, denies)
        if not allows and not denies:
            return _NO_MATCH
        return PolicyMatch(tuple(allows), tuple(denies))

    def bind(self, variables: Mapping[str, str]) -> CompiledPolicy:
        """This policy with the given variables substituted once (keys case-insensitive).

        Variables not in ``variables`` stay and are resolved from each request's context.
        Substituted values are literal text, never wildcards.
        """
        values = {key.lower(): value for key, value in variables.items()}
        if not self.variable_keys & values.keys():
            return self
        return CompiledPolicy(self.document.bind(values), self.kind, self.label)

    def with_label(self, label: str) -> CompiledPolicy:
        return CompiledPolicy(self.document, self.kind, label)

    def render(self, *, indent: int | None = None) -> str:
        """Canonical JSON for this policy (see :func:`bastion.policy.render.render_document`)."""
        return render_document(self.document, indent=indent)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CompiledPolicy):
            return NotImplemented
        return self.kind is other.kind and self.document == other.document

    def __hash__(self) -> int:
        return hash((self.kind, self.document))

    def __repr__(self) -> str:
        count = len(self._statements)
        return f"CompiledPolicy(label={self.label!r}, kind={self.kind.value}, statements={count})"


_NO_MATCH = PolicyMatch()
_ACTION_INDEX_LIMIT = 4096
