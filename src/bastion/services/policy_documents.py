"""Checking policy documents at write time: one place that turns engine findings into AWS's error."""

from __future__ import annotations

from bastion.policy import CompiledPolicy, PolicyKind, parse_policy
from bastion.services.errors import MalformedPolicyError

__all__ = ["PolicyKind", "check_policy"]


def check_policy(text: str, kind: PolicyKind, label: str = "") -> CompiledPolicy:
    """Parse and validate; raise MalformedPolicyError with the first error finding's message."""
    result = parse_policy(text, kind=kind, label=label)
    if result.policy is None or result.errors:
        raise MalformedPolicyError(result.error_message or "Syntax errors in policy.", result.errors)
    return result.policy
