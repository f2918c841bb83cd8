"""Small builders shared by the policy tests."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from bastion.policy import CompiledPolicy, ContextValue, PolicyKind, Request, evaluate, parse_policy

ACCOUNT = "123456789012"
IOT = f"arn:aws:iot:us-east-1:{ACCOUNT}"


def compile_policy(
    document: Mapping[str, Any] | str, *, kind: PolicyKind = PolicyKind.IDENTITY, label: str = "p"
) -> CompiledPolicy:
    text = document if isinstance(document, str) else json.dumps(document)
    result = parse_policy(text, kind=kind, label=label)
    assert result.policy is not None, result.error_message
    return result.policy


def statement_policy(*statements: Mapping[str, Any], version: str | None = "2012-10-17") -> CompiledPolicy:
    document: dict[str, Any] = {"Statement": list(statements)}
    if version is not None:
        document["Version"] = version
    return compile_policy(document)


def condition_allows(condition: Mapping[str, Any], context: Mapping[str, ContextValue] | None = None) -> bool:
    """Whether an Allow statement with only ``condition`` applies under ``context``."""
    policy = statement_policy(
        {"Effect": "Allow", "Action": "svc:Act", "Resource": "*", "Condition": condition}
    )
    return evaluate([policy], Request("svc:Act", "arn:aws:svc:::thing", context or {})).allowed
