"""Input validation against the model's constraints, worded as AWS words it.

Every operation's input is checked here (not per handler): required members, string/list/map/blob
lengths, numeric ranges, patterns and enums. Types are already right: the protocol parsers convert wire
values into the model's types and reject what cannot be converted before validation runs.

Message format (AWS's, as seen in SDK error reports)::

    1 validation error detected: Value 'a b' at 'roleName' failed to satisfy constraint:
        Member must satisfy regular expression pattern: [\\w+=,.@-]+
    Value null at 'userPoolId' failed to satisfy constraint: Member must not be null
    Value at 'password' failed to satisfy constraint: ...      (sensitive members hide the value)

Paths use lowerCamelCase member names; list items are ``tags.1.member.value`` (1-based). Members are
visited in alphabetical order, constraints of one value in the order length, range, pattern, enum.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bastion.api.errors import RequestValidationError
from bastion.api.models import Shape, validation_error_code
from bastion.api.protocols.javaregex import full_match


def lower_camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def check(service: str, shape: Shape | None, params: Mapping[str, Any]) -> None:
    """Raise the service's validation error when ``params`` break ``shape``'s constraints."""
    if shape is None:
        return
    problems = problems_for(shape, params)
    if problems:
        raise RequestValidationError(validation_error_code(service), problems)


def problems_for(shape: Shape, params: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    _structure(shape, params, "", problems)
    return problems


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _value(shape: Shape, value: Any, path: str, problems: list[str]) -> None:
    kind = shape.type_name
    if kind == "structure":
        if isinstance(value, Mapping) and not shape.is_document_type:
            _structure(shape, value, path, problems)
        return
    found = _constraints(shape, value)
    if found:
        prefix = _prefix(shape, value, path)
        problems.extend(f"{prefix}{text}" for text in found)
    if kind == "list" and isinstance(value, list):
        for index, item in enumerate(value, 1):
            if item is not None:
                _value(shape.member, item, f"{path}.{index}.member", problems)
    elif kind == "map" and isinstance(value, Mapping):
        _map_entries(shape, value, path, problems)


def _structure(shape: Shape, value: Mapping[str, Any], path: str, problems: list[str]) -> None:
    members = shape.members
    required = set(shape.required_members)
    for name in sorted(members):
        member_path = _join(path, lower_camel(name))
        item = value.get(name)
        if item is None:
            if name in required:
                problems.append(
                    f"Value null at '{member_path}' failed to satisfy constraint: Member must not be null"
                )
            continue
        _value(members[name], item, member_path, problems)


def _map_entries(shape: Shape, value: Mapping[str, Any], path: str, problems: list[str]) -> None:
    key_problems: list[str] = []
    value_problems: list[str] = []
    for key, item in value.items():
        for text in _constraints(shape.key, key):
            if text not in key_problems:
                key_problems.append(text)
        if item is None:
            continue
        if shape.value.type_name in ("structure", "list", "map"):
            _value(shape.value, item, f"{path}.{key}", problems)
        else:
            for text in _constraints(shape.value, item):
                if text not in value_problems:
                    value_problems.append(text)
    if key_problems:
        problems.append(
            f"{_prefix(shape, value, path)}Map keys must satisfy constraint: [{', '.join(key_problems)}]"
        )
    if value_problems:
        problems.append(
            f"{_prefix(shape, value, path)}Map value must satisfy constraint: [{', '.join(value_problems)}]"
        )


def _prefix(shape: Shape, value: Any, path: str) -> str:
    if shape.metadata.get("sensitive"):
        return f"Value at '{path}' failed to satisfy constraint: "
    return f"Value '{render(value)}' at '{path}' failed to satisfy constraint: "


def _constraints(shape: Shape, value: Any) -> list[str]:
    """The constraint texts (``Member must ...``) that one value breaks, not looking inside it."""
    meta = shape.metadata
    kind = shape.type_name
    found: list[str] = []
    size = _size(kind, value)
    if size is not None:
        if "min" in meta and size < meta["min"]:
            found.append(f"Member must have length greater than or equal to {_number(meta['min'])}")
        if "max" in meta and size > meta["max"]:
            found.append(f"Member must have length less than or equal to {_number(meta['max'])}")
    elif kind in ("integer", "long", "float", "double") and _is_number(value):
        if "min" in meta and value < meta["min"]:
            found.append(f"Member must have value greater than or equal to {_number(meta['min'])}")
        if "max" in meta and value > meta["max"]:
            found.append(f"Member must have value less than or equal to {_number(meta['max'])}")
    if kind == "string" and isinstance(value, str):
        pattern = meta.get("pattern")
        if pattern is not None and full_match(pattern, value) is False:
            found.append(f"Member must satisfy regular expression pattern: {pattern}")
        enum = shape.enum
        if enum and value not in enum:
            found.append(f"Member must satisfy enum value set: [{', '.join(enum)}]")
    return found


def _size(kind: str, value: Any) -> int | None:
    if kind == "string" and isinstance(value, str):
        # Java counts UTF-16 code units; characters outside the BMP count twice.
        return len(value) if value.isascii() else len(value.encode("utf-16-le", "surrogatepass")) // 2
    if kind == "blob" and isinstance(value, bytes | bytearray):
        return len(value)
    if kind == "list" and isinstance(value, list):
        return len(value)
    if kind == "map" and isinstance(value, Mapping):
        return len(value)
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _number(limit: Any) -> str:
    if isinstance(limit, float) and limit.is_integer():
        return str(int(limit))
    return str(limit)


def render(value: Any) -> str:
    """A value as AWS's Java service code prints it in messages (``[a, b]``, ``{k=v}``, ``true``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "[" + ", ".join(render(item) for item in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{render(k)}={render(v)}" for k, v in value.items()) + "}"
    if isinstance(value, bytes | bytearray):
        return f"java.nio.HeapByteBuffer[pos=0 lim={len(value)} cap={len(value)}]"
    if isinstance(value, datetime):
        return value.strftime("%a %b %d %H:%M:%S UTC %Y")
    return str(value)
