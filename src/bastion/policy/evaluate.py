"""Parsing entry point and policy-set evaluation."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bastion.policy.compiled import CompiledPolicy
from bastion.policy.decision import IMPLICIT_DENY, Decision, Outcome, StatementRef
from bastion.policy.document import PolicyKind
from bastion.policy.findings import Finding, FindingSink
from bastion.policy.parse import MAX_DOCUMENT_LENGTH, parse_document
from bastion.policy.request import Request
from bastion.policy.vocabulary import Vocabulary


@dataclass(frozen=True)
class ParseResult:
    """A compiled policy (``None`` if the document has errors) and every finding."""

    policy: CompiledPolicy | None
    findings: tuple[Finding, ...] = ()

    @property
    def ok(self) -> bool:
        return self.policy is not None

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.is_error)

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if not f.is_error)

    @property
    def error_message(self) -> str:
        """The errors as one line, for MalformedPolicyDocument-style responses ("" if none)."""
        return "; ".join(str(finding) for finding in self.errors)


def parse_policy(
    text: str,
    *,
    kind: PolicyKind = PolicyKind.IDENTITY,
    label: str = "",
    vocabulary: Vocabulary | None = None,
    max_length: int = MAX_DOCUMENT_LENGTH,
) -> ParseResult:
    """Parse, validate and compile a JSON policy document. Never raises.

    ``label`` names the policy in :class:`StatementRef` (e.g. ``"role/MyRole inline MyPolicy"``).
    """
    try:
        document, findings = parse_document(text, kind=kind, vocabulary=vocabulary, max_length=max_length)
        policy = None if document is None else CompiledPolicy(document, kind, label)
    except (RecursionError, MemoryError, ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        # Last line of defence for the no-raise promise: a bug here must reject the
        # document (default deny), not crash the API call that submitted it.
        sink = FindingSink()
        sink.add("INTERNAL_ERROR", detail=type(exc).__name__)
        return ParseResult(None, tuple(sink.findings))
    return ParseResult(policy, tuple(findings))


def evaluate(policies: Iterable[CompiledPolicy], request: Request) -> Decision:
    """Evaluate one set of policies: any matching Deny wins, else any matching Allow,
    else implicit deny. Intersect sets (role and session policies, IAM and IoT) with
    :func:`bastion.policy.intersect`."""
    allows: list[StatementRef] = []
    denies: list[StatementRef] = []
    for policy in policies:
        policy.collect(request, allows, denies)
    if denies:
        return Decision(Outcome.EXPLICIT_DENY, tuple(denies))
    if allows:
        return Decision(Outcome.ALLOW, tuple(allows))
    return IMPLICIT_DENY
