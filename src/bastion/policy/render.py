"""Canonical JSON for a policy document.

Element order is fixed (Version, Id, Statement; Sid, Effect, Principal, Action, Resource,
Condition), list-valued elements are always lists, condition values are always strings,
and operator and key spellings are kept as written. Rendering then parsing gives back an
equal document.
"""

from __future__ import annotations

import json
from typing import Any

from bastion.policy.document import Condition, PolicyDocument, PrincipalBlock, Statement


def _principal(block: PrincipalBlock) -> Any:
    if block.everyone:
        return "*"
    return {kind: list(ids) for kind, ids in block.entries}


def _conditions(conditions: tuple[Condition, ...]) -> dict[str, dict[str, list[str]]]:
    out: dict[str, dict[str, list[str]]] = {}
    for condition in conditions:
        out.setdefault(condition.operator, {})[condition.key] = [value.render() for value in condition.values]
    return out


def _statement(statement: Statement) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if statement.sid is not None:
        out["Sid"] = statement.sid
    out["Effect"] = statement.effect.value
    if statement.principal is not None:
        out["NotPrincipal" if statement.not_principal else "Principal"] = _principal(statement.principal)
    out["NotAction" if statement.not_action else "Action"] = list(statement.actions)
    if statement.resources is not None:
        key = "NotResource" if statement.not_resource else "Resource"
        out[key] = [resource.render() for resource in statement.resources]
    if statement.conditions:
        out["Condition"] = _conditions(statement.conditions)
    return out


def document_to_json(document: PolicyDocument) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if document.version is not None:
        out["Version"] = document.version
    if document.id is not None:
        out["Id"] = document.id
    out["Statement"] = [_statement(statement) for statement in document.statements]
    return out


def render_document(document: PolicyDocument, *, indent: int | None = None) -> str:
    separators = (",", ":") if indent is None else (",", ": ")
    return json.dumps(document_to_json(document), ensure_ascii=False, indent=indent, separators=separators)
