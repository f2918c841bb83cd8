"""Results: which statements matched, and what that decides.

Explicit deny beats allow, allow beats the default (implicit) deny. A decision names the
statements that determined it so that callers can log and explain it.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass


class Outcome(enum.Enum):
    ALLOW = "Allow"
    EXPLICIT_DENY = "ExplicitDeny"
    IMPLICIT_DENY = "ImplicitDeny"


@dataclass(frozen=True)
class StatementRef:
    """A statement, named by its policy's caller-supplied label, its index and its Sid."""

    policy: str
    index: int
    sid: str | None = None

    def __str__(self) -> str:
        sid = f" ({self.sid})" if self.sid else ""
        return f"{self.policy} Statement[{self.index}]{sid}"


@dataclass(frozen=True)
class PolicyMatch:
    """The statements of one policy that apply to a request, split by effect."""

    allows: tuple[StatementRef, ...] = ()
    denies: tuple[StatementRef, ...] = ()

    @property
    def outcome(self) -> Outcome:
        if self.denies:
            return Outcome.EXPLICIT_DENY
        return Outcome.ALLOW if self.allows else Outcome.IMPLICIT_DENY


@dataclass(frozen=True)
class Decision:
    """The outcome for a set of policies and the statements that decided it.

    ``deciding`` lists every matching Deny for an explicit deny, every matching Allow for
    an allow, and nothing for an implicit deny.
    """

    outcome: Outcome
    deciding: tuple[StatementRef, ...] = ()

    @property
    def allowed(self) -> bool:
        return self.outcome is Outcome.ALLOW

    @property
    def explicit_deny(self) -> bool:
        return self.outcome is Outcome.EXPLICIT_DENY


IMPLICIT_DENY = Decision(Outcome.IMPLICIT_DENY)


def combine(matches: Iterable[PolicyMatch]) -> Decision:
    """The decision of one policy set: any Deny wins, else any Allow, else implicit deny."""
    allows: list[StatementRef] = []
    denies: list[StatementRef] = []
    for match in matches:
        allows.extend(match.allows)
        denies.extend(match.denies)
    if denies:
        return Decision(Outcome.EXPLICIT_DENY, tuple(denies))
    if allows:
        return Decision(Outcome.ALLOW, tuple(allows))
    return IMPLICIT_DENY


def intersect(decisions: Iterable[Decision]) -> Decision:
    """Combine decisions that must all allow (role policies and session policy, IAM and IoT).

    An explicit deny in any of them wins; otherwise the result allows only if every one
    allows. No decisions at all is an implicit deny.
    """
    items = list(decisions)
    denies = tuple(ref for d in items if d.outcome is Outcome.EXPLICIT_DENY for ref in d.deciding)
    if any(d.outcome is Outcome.EXPLICIT_DENY for d in items):
        return Decision(Outcome.EXPLICIT_DENY, denies)
    if items and all(d.allowed for d in items):
        return Decision(Outcome.ALLOW, tuple(ref for d in items for ref in d.deciding))
    return IMPLICIT_DENY
