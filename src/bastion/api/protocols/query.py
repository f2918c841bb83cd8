"""awsQuery (IAM, STS): form-encoded requests in, XML responses and ``<ErrorResponse>`` out.

Requests are ``Action=Op&Version=..&Param=..`` in a form body (or the query string of a GET). Nested
values flatten into dotted keys, decoded here by walking the model over a tree of key segments:

* structure members ``Parent.Child``;
* lists ``Name.member.N`` (1-based; the list member's ``locationName`` replaces ``member``), flattened
  lists ``Name.N``, and ``Name=`` (empty) for an empty list;
* maps ``Name.entry.N.key`` / ``Name.entry.N.value`` (flattened: ``Name.N.key``).

Text that cannot become the model's type (``MaxItems=ten``, ``Tags.member.x.Key``) is ``MalformedInput``
(IAM's code for unparseable input as far as public sources show; not confirmed against AWS).
"""

from __future__ import annotations

import base64
import binascii
import math
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape

from bastion.api.errors import AwsError, UnknownOperationError
from bastion.api.models import (
    OperationModel,
    Shape,
    error_shape,
    error_status,
    service_model,
    wire_error_code,
)
from bastion.api.protocols import timestamps
from bastion.api.protocols.base import HttpRequest, HttpResponse
from bastion.api.protocols.jsonvalues import text_of

MALFORMED_INPUT = "MalformedInput"
CONTENT_TYPE = "text/xml"
# IAM's json_decode_policies counterpart: these string shapes travel URL-encoded inside XML.
_URL_ENCODED_SHAPES = frozenset({"policyDocumentType"})
_SPECIAL_FLOATS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
_INT_BOUNDS = {"integer": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}


def malformed(message: str) -> AwsError:
    return AwsError(MALFORMED_INPUT, message, status=400, sender_fault=True)


# ----------------------------------------------------------------------------------------------- requests


def form_fields(request: HttpRequest) -> list[tuple[str, str]]:
    """Query-string parameters followed by the form body's (a POST carries them in the body)."""
    fields = _parse_form(request.raw_query)
    if request.body and request.method != "GET":
        try:
            text = request.body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise malformed("The request body is not valid UTF-8 form data.") from exc
        fields.extend(_parse_form(text))
    return fields


def _parse_form(text: str) -> list[tuple[str, str]]:
    if not text:
        return []
    try:
        return urllib.parse.parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="strict")
    except (UnicodeDecodeError, ValueError) as exc:
        raise malformed("The request contains invalid form encoding.") from exc


def identify(service: str, fields: list[tuple[str, str]]) -> str:
    model = service_model(service)
    values = dict(fields)
    action = values.get("Action")
    version = values.get("Version")
    if not action:
        raise UnknownOperationError("MissingAction", "Missing Action", status=400, sender_fault=True)
    api_version = model.metadata["apiVersion"]
    if action not in model.operation_names or (version is not None and version != api_version):
        raise UnknownOperationError(
            "InvalidAction",
            f"Could not find operation {action} for version {version or api_version}",
            status=400,
            sender_fault=True,
        )
    return str(action)


@dataclass
class _Node:
    value: str | None = None
    children: dict[str, _Node] = field(default_factory=dict)


def _tree(fields: list[tuple[str, str]]) -> _Node:
    root = _Node()
    for key, value in fields:
        node = root
        for part in key.split("."):
            node = node.children.setdefault(part, _Node())
        node.value = value
    return root


def parse(operation: OperationModel, fields: list[tuple[str, str]]) -> dict[str, Any]:
    shape = operation.input_shape
    if shape is None:
        return {}
    return _structure(shape, _tree(fields), "")


def _structure(shape: Shape, node: _Node, path: str) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for name, member in shape.members.items():
        child = node.children.get(_key(member, name))
        if child is None:
            continue
        value = _decode(member, child, _join(path, name))
        if value is not None:
            params[name] = value
    return params


def _key(member: Shape, name: str) -> str:
    if member.type_name == "list" and member.serialization.get("flattened"):
        flattened_name = member.member.serialization.get("name")
        if flattened_name:
            return str(flattened_name)
    return str(member.serialization.get("name", name))


def _decode(shape: Shape, node: _Node, path: str) -> Any:
    kind = shape.type_name
    if kind == "structure":
        return _structure(shape, node, path)
    if kind == "list":
        if not node.children:
            return [] if node.value == "" else None
        container = (
            node
            if shape.serialization.get("flattened")
            else node.children.get(shape.member.serialization.get("name", "member"))
        )
        if container is None:
            return None
        return [_decode(shape.member, item, path) for item in _indexed(container, path)]
    if kind == "map":
        if not node.children:
            return {} if node.value == "" else None
        container = node if shape.serialization.get("flattened") else node.children.get("entry")
        if container is None:
            return None
        key_name = shape.key.serialization.get("name", "key")
        value_name = shape.value.serialization.get("name", "value")
        result: dict[str, Any] = {}
        for entry in _indexed(container, path):
            key_node = entry.children.get(key_name)
            value_node = entry.children.get(value_name)
            if key_node is None or key_node.value is None:
                raise malformed(f"Missing map key in '{path}'.")
            result[key_node.value] = None if value_node is None else _decode(shape.value, value_node, path)
        return result
    if node.value is None:
        return None
    return _scalar(shape, node.value, path)


def _indexed(container: _Node, path: str) -> list[_Node]:
    numbered: list[tuple[int, _Node]] = []
    for key, child in container.children.items():
        if not key.isdigit() or not key.isascii() or int(key) < 1:
            raise malformed(f"{key} is not a valid index.")
        numbered.append((int(key), child))
    return [child for _, child in sorted(numbered, key=lambda pair: pair[0])]


def _scalar(shape: Shape, text: str, path: str) -> Any:
    kind = shape.type_name
    try:
        if kind in ("integer", "long", "float", "double") and not text.isascii():
            raise ValueError(text)  # Python's int()/float() accept non-ASCII digits; AWS does not
        if kind in ("integer", "long"):
            number = int(text.strip())
            low, high = _INT_BOUNDS[kind]
            if not low <= number <= high:
                raise ValueError(text)
            return number
        if kind in ("float", "double"):
            return _SPECIAL_FLOATS[text] if text in _SPECIAL_FLOATS else float(text)
        if kind == "boolean":
            lowered = text.strip().lower()
            if lowered not in ("true", "false"):
                raise ValueError(text)
            return lowered == "true"
        if kind == "timestamp":
            return timestamps.parse(text)
        if kind == "blob":
            return base64.b64decode(text.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError, binascii.Error) as exc:
        raise malformed(f"Invalid value for parameter {path}: {text}") from exc
    return text


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


# ---------------------------------------------------------------------------------------------- responses


def serialize(operation: OperationModel, output: Any, request_id: str) -> HttpResponse:
    namespace = operation.service_model.metadata.get("xmlNamespace", "")
    name = operation.name
    parts = [f'<{name}Response xmlns="{_attr(namespace)}">']
    shape = operation.output_shape
    if shape is not None:
        wrapper = shape.serialization.get("resultWrapper", f"{name}Result")
        parts.append(f"<{wrapper}>")
        _members(shape, output or {}, parts)
        parts.append(f"</{wrapper}>")
    parts.append(f"<ResponseMetadata><RequestId>{escape(request_id)}</RequestId></ResponseMetadata>")
    parts.append(f"</{name}Response>")
    return _xml_response(200, "".join(parts), request_id)


def serialize_error(service: str, error: AwsError, request_id: str) -> HttpResponse:
    namespace = service_model(service).metadata.get("xmlNamespace", "")
    code = wire_error_code(service, error.code)
    status = error.status or error_status(service, code)
    sender = error.sender_fault if error.sender_fault is not None else status < 500
    parts = [
        f'<ErrorResponse xmlns="{_attr(namespace)}"><Error>',
        f"<Type>{'Sender' if sender else 'Receiver'}</Type>",
        f"<Code>{escape(code)}</Code>",
        f"<Message>{_text(error.message)}</Message>",
    ]
    shape = error_shape(service, code)
    if shape is not None and error.fields:
        extra = {k: v for k, v in error.fields.items() if k.lower() != "message"}
        _members(shape, extra, parts)
    parts.append(f"</Error><RequestId>{escape(request_id)}</RequestId></ErrorResponse>")
    return _xml_response(status, "".join(parts), request_id)


def _xml_response(status: int, document: str, request_id: str) -> HttpResponse:
    headers = [("x-amzn-RequestId", request_id), ("Content-Type", CONTENT_TYPE)]
    return HttpResponse(status, headers, document.encode("utf-8"))


def _members(shape: Shape, value: Any, parts: list[str]) -> None:
    members = shape.members
    for name, member in members.items():
        item = value.get(name) if isinstance(value, Mapping) else None
        if item is None:
            continue
        if member.type_name == "list" and member.serialization.get("flattened"):
            tag = member.member.serialization.get("name") or member.serialization.get("name", name)
            for element in item:
                if element is not None:
                    _element(member.member, tag, element, parts)
            continue
        _element(member, member.serialization.get("name", name), item, parts)


def _element(shape: Shape, tag: str, value: Any, parts: list[str]) -> None:
    parts.append(f"<{tag}>")
    _content(shape, value, parts)
    parts.append(f"</{tag}>")


def _content(shape: Shape, value: Any, parts: list[str]) -> None:
    kind = shape.type_name
    if kind == "structure":
        _members(shape, value, parts)
    elif kind == "list":
        tag = shape.member.serialization.get("name", "member")
        for element in value:
            if element is not None:
                _element(shape.member, tag, element, parts)
    elif kind == "map":
        key_tag = shape.key.serialization.get("name", "key")
        value_tag = shape.value.serialization.get("name", "value")
        flattened = shape.serialization.get("flattened")
        for key, item in value.items():
            if item is None:
                continue
            if not flattened:
                parts.append("<entry>")
            _element(shape.key, key_tag, key, parts)
            _element(shape.value, value_tag, item, parts)
            if not flattened:
                parts.append("</entry>")
    else:
        parts.append(_text(_scalar_text(shape, value)))


def _scalar_text(shape: Shape, value: Any) -> str:
    kind = shape.type_name
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "timestamp":
        return timestamps.format_as_text(
            value, shape.serialization.get("timestampFormat", timestamps.ISO8601)
        )
    if kind == "blob":
        raw = value.encode("utf-8") if isinstance(value, str) else bytes(value)
        return base64.b64encode(raw).decode("ascii")
    if kind in ("float", "double"):
        number = float(value)
        if math.isnan(number):
            return "NaN"
        if math.isinf(number):
            return "Infinity" if number > 0 else "-Infinity"
        return repr(number)
    if kind == "string" and shape.name in _URL_ENCODED_SHAPES:
        return urllib.parse.quote(text_of(value), safe="")
    if kind in ("integer", "long"):
        return str(int(value))
    return text_of(value)


def _text(value: str) -> str:
    # A bare CR would be normalised to LF by any XML parser; a character reference keeps it.
    return escape(value).replace("\r", "&#13;")


def _attr(value: str) -> str:
    return escape(value, {'"': "&quot;"})
