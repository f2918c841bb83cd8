"""Bastion's policy engine: IAM identity and trust policies and AWS IoT policies.

Pure: no I/O. Parse once (``parse_policy``), optionally bind per-connection variables
(``CompiledPolicy.bind``), then ``evaluate`` requests. See docs/policy-engine.md.
"""

from bastion.policy.compiled import CompiledPolicy
from bastion.policy.decision import Decision, Outcome, PolicyMatch, StatementRef, combine, intersect
from bastion.policy.document import (
    Condition,
    Effect,
    PolicyDocument,
    PolicyKind,
    PrincipalBlock,
    Statement,
)
from bastion.policy.evaluate import ParseResult, evaluate, parse_policy
from bastion.policy.findings import CATALOGUE, Finding, Severity
from bastion.policy.glob import Glob, glob_match
from bastion.policy.parse import MAX_DOCUMENT_LENGTH
from bastion.policy.request import Principal, Request
from bastion.policy.values import ContextValue
from bastion.policy.variables import Pattern, Var
from bastion.policy.vocabulary import IamVocabulary, Vocabulary

__all__ = [
    "CATALOGUE",
    "MAX_DOCUMENT_LENGTH",
    "CompiledPolicy",
    "Condition",
    "ContextValue",
    "Decision",
    "Effect",
    "Finding",
    "Glob",
    "IamVocabulary",
    "Outcome",
    "ParseResult",
    "Pattern",
    "PolicyDocument",
    "PolicyKind",
    "PolicyMatch",
    "Principal",
    "PrincipalBlock",
    "Request",
    "Severity",
    "Statement",
    "StatementRef",
    "Var",
    "Vocabulary",
    "combine",
    "evaluate",
    "glob_match",
    "intersect",
    "parse_policy",
]
