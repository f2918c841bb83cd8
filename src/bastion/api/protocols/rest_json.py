"""restJson1 (IoT, IoT data, Lambda): operations addressed by method + URI template.

Input members come from where the model puts them: ``uri`` labels, ``querystring`` parameters (a map
member without a name takes every parameter no other member claims), single ``header``\\s, ``headers``
prefix maps, and the body: a blob/string ``payload`` member is the raw body, a structure payload or the
remaining members are JSON.

Output mirrors that: the status is the operation's ``responseCode`` (Lambda CreateFunction: 201) unless a
``statusCode`` member says otherwise, header members become headers, a blob/string payload is the raw body.
Errors are ``{"message": ...}`` (plus extra members) with ``x-amzn-ErrorType: <Code>``.
"""

from __future__ import annotations

import base64
import binascii
import json
import urllib.parse
from typing import Any

from bastion.api.errors import AwsError, UnknownOperationError
from bastion.api.models import OperationModel, Shape, error_shape, error_status, wire_error_code
from bastion.api.protocols import json11, jsonvalues, timestamps
from bastion.api.protocols.base import HttpRequest, HttpResponse
from bastion.api.protocols.uri_router import router_for

UNKNOWN_OPERATION = "UnknownOperationException"
JSON_CONTENT_TYPE = "application/json"
BINARY_CONTENT_TYPE = "application/octet-stream"
TEXT_CONTENT_TYPE = "text/plain; charset=utf-8"
_BOOLEANS = {"true": True, "false": False}


def query_parameters(request: HttpRequest) -> dict[str, list[str]]:
    if not request.raw_query:
        return {}
    try:
        return urllib.parse.parse_qs(
            request.raw_query, keep_blank_values=True, encoding="utf-8", errors="strict"
        )
    except (UnicodeDecodeError, ValueError) as exc:
        raise jsonvalues.serialization_error("The query string is not valid.") from exc


def identify(service: str, request: HttpRequest) -> tuple[str, dict[str, str]]:
    """The operation name and its URI labels, or the 404 AWS gives for an unknown path."""
    try:
        match = router_for(service).match(request.method, request.raw_path, query_parameters(request))
    except (UnicodeDecodeError, ValueError):
        match = None
    if match is None:
        raise UnknownOperationError(UNKNOWN_OPERATION, "", status=404, sender_fault=True)
    return match.operation, match.labels


def parse(operation: OperationModel, request: HttpRequest, labels: dict[str, str]) -> dict[str, Any]:
    shape = operation.input_shape
    if shape is None:
        return {}
    query = query_parameters(request)
    params: dict[str, Any] = {}
    claimed = {
        member.serialization.get("name", name)
        for name, member in shape.members.items()
        if member.serialization.get("location") == "querystring" and member.type_name != "map"
    }
    for name, member in shape.members.items():
        value = _located(member, name, request, labels, query, claimed)
        if value is not None:
            params[name] = value
    params.update(_body(shape, request.body))
    return params


def _located(
    member: Shape,
    name: str,
    request: HttpRequest,
    labels: dict[str, str],
    query: dict[str, list[str]],
    claimed: set[str],
) -> Any:
    location = member.serialization.get("location")
    wire_name = member.serialization.get("name", name)
    if location == "uri":
        text = labels.get(wire_name)
        return None if text is None else _from_text(member, text, name, timestamps.ISO8601)
    if location == "querystring":
        if member.type_name == "map":
            return _query_map(member, query, claimed, name)
        values = query.get(wire_name)
        if not values:
            return None
        if member.type_name == "list":
            return [_from_text(member.member, value, name, timestamps.ISO8601) for value in values]
        return _from_text(member, values[0], name, timestamps.ISO8601)
    if location == "header":
        text = request.header(wire_name)
        return None if text is None else _from_header(member, text, name)
    if location == "headers":
        prefix = wire_name.lower()
        found = {
            key[len(prefix) :]: value for key, value in request.headers if key.lower().startswith(prefix)
        }
        return found or None
    return None


def _query_map(
    member: Shape, query: dict[str, list[str]], claimed: set[str], name: str
) -> dict[str, Any] | None:
    result: dict[str, Any] = {}
    for key, values in query.items():
        if key in claimed:
            continue
        if member.value.type_name == "list":
            result[key] = [
                _from_text(member.value.member, value, name, timestamps.ISO8601) for value in values
            ]
        else:
            result[key] = _from_text(member.value, values[0], name, timestamps.ISO8601)
    return result or None


def _from_header(member: Shape, text: str, name: str) -> Any:
    if member.serialization.get("jsonvalue"):
        try:
            return json.loads(base64.b64decode(text.encode("ascii"), validate=True).decode("utf-8"))
        except (UnicodeError, binascii.Error, ValueError, RecursionError) as exc:
            raise jsonvalues.serialization_error(f"Header for '{name}' is not base64-encoded JSON.") from exc
    if member.type_name == "list":
        return [_from_text(member.member, item, name, timestamps.RFC822) for item in split_header_list(text)]
    if member.type_name == "blob":
        return jsonvalues.decode_base64(text.strip(), name)
    return _from_text(member, text.strip(), name, timestamps.RFC822)


def _from_text(member: Shape, text: str, name: str, default_time_format: str) -> Any:
    kind = member.type_name
    try:
        if kind in ("integer", "long", "float", "double") and not text.isascii():
            raise ValueError(text)  # Python's int()/float() accept non-ASCII digits; AWS does not
        if kind in ("integer", "long"):
            return jsonvalues.decode_scalar(member, int(text), name)
        if kind in ("float", "double"):
            return float(text)
        if kind == "boolean":
            return _BOOLEANS[text.lower()]
        if kind == "timestamp":
            return timestamps.parse(text)
        if kind == "blob":
            return text.encode("utf-8")
    except (ValueError, KeyError) as exc:
        raise jsonvalues.serialization_error(f"Invalid value for '{name}': {text}") from exc
    return text


def split_header_list(text: str) -> list[str]:
    """A comma-separated header list; items with commas or quotes arrive double-quoted (botocore does)."""
    items: list[str] = []
    current: list[str] = []
    quoted = False
    i = 0
    while i < len(text):
        ch = text[i]
        if quoted:
            if ch == "\\" and i + 1 < len(text):
                current.append(text[i + 1])
                i += 1
            elif ch == '"':
                quoted = False
            else:
                current.append(ch)
        elif ch == '"':
            quoted = True
        elif ch == ",":
            items.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
        i += 1
    items.append("".join(current).strip())
    return [item for item in items if item]


def _body(shape: Shape, body: bytes) -> dict[str, Any]:
    payload_name = shape.serialization.get("payload")
    if payload_name is not None:
        member = shape.members[payload_name]
        if not body:
            return {}
        if member.type_name == "blob":
            return {payload_name: body}
        if member.type_name == "string":
            try:
                return {payload_name: body.decode("utf-8")}
            except UnicodeDecodeError as exc:
                raise jsonvalues.serialization_error("The request body is not valid UTF-8.") from exc
        document = jsonvalues.load_body(body)
        if document == {} and member.type_name == "structure":
            return {}  # what botocore sends when the payload structure was not given
        try:
            return {payload_name: jsonvalues.decode(member, document, payload_name)}
        except RecursionError as exc:
            raise jsonvalues.serialization_error("Request body is nested too deeply.") from exc
    if not any(not m.serialization.get("location") for m in shape.members.values()):
        return {}
    document = jsonvalues.load_object(body)
    try:
        return jsonvalues.decode_members(shape, document, "")
    except RecursionError as exc:
        raise jsonvalues.serialization_error("Request body is nested too deeply.") from exc


# ---------------------------------------------------------------------------------------------- responses


def serialize(service: str, operation: OperationModel, output: Any, request_id: str) -> HttpResponse:
    status = int(operation.http.get("responseCode", 200))
    headers: list[tuple[str, str]] = [("x-amzn-RequestId", request_id)]
    shape = operation.output_shape
    values = output or {}
    body = b""
    content_type: str | None = None
    if shape is not None:
        status = _header_members(shape, values, headers, status)
        payload_name = shape.serialization.get("payload")
        if payload_name is not None:
            body, content_type = _payload(shape.members[payload_name], values.get(payload_name))
        elif any(not m.serialization.get("location") for m in shape.members.values()):
            body, content_type = jsonvalues.dump(jsonvalues.encode_members(shape, values)), JSON_CONTENT_TYPE
    elif values:
        # No output shape, yet AWS answers with a JSON body (iot-data Publish: {"message":"OK",...}).
        body, content_type = jsonvalues.dump(values), JSON_CONTENT_TYPE
    if status in (204, 304):
        body, content_type = b"", None
    if content_type is not None:
        headers.append(("Content-Type", content_type))
    return HttpResponse(status, headers, body)


def _payload(member: Shape, value: Any) -> tuple[bytes, str | None]:
    if member.type_name in ("blob", "string"):
        if value is None:
            return b"", None
        kind = TEXT_CONTENT_TYPE if member.type_name == "string" else BINARY_CONTENT_TYPE
        return (value.encode("utf-8") if isinstance(value, str) else bytes(value)), kind
    if value is None:
        return b"{}", JSON_CONTENT_TYPE
    return jsonvalues.dump(jsonvalues.encode(member, value)), JSON_CONTENT_TYPE


def _header_members(shape: Shape, values: dict[str, Any], headers: list[tuple[str, str]], status: int) -> int:
    """Append header-located members; return the status (a ``statusCode`` member overrides it)."""
    for name, member in shape.members.items():
        value = values.get(name)
        location = member.serialization.get("location")
        if value is None or location is None:
            continue
        wire_name = member.serialization.get("name", name)
        if location == "statusCode":
            status = int(value)
        elif location == "header":
            headers.append((wire_name, header_text(member, value)))
        elif location == "headers":
            headers.extend((f"{wire_name}{key}", str(item)) for key, item in value.items())
    return status


def header_text(member: Shape, value: Any) -> str:
    if member.serialization.get("jsonvalue"):
        return base64.b64encode(json.dumps(value, separators=(",", ":")).encode("utf-8")).decode("ascii")
    kind = member.type_name
    if kind == "list":
        return ",".join(header_text(member.member, item) for item in value if item is not None)
    if kind == "timestamp":
        return timestamps.format_as_text(
            value, member.serialization.get("timestampFormat", timestamps.RFC822)
        )
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "blob":
        return jsonvalues.encode_base64(value)
    return jsonvalues.text_of(value)


def serialize_error(service: str, error: AwsError, request_id: str) -> HttpResponse:
    code = wire_error_code(service, error.code)
    status = error.status or error_status(service, code)
    headers: list[tuple[str, str]] = [("x-amzn-RequestId", request_id), ("x-amzn-ErrorType", code)]
    shape = error_shape(service, code)
    if shape is not None:
        _header_members(shape, error.fields, headers, status)
    headers.append(("Content-Type", JSON_CONTENT_TYPE))
    document = json11.error_members(service, code, error)
    return HttpResponse(status, headers, jsonvalues.dump(document))
