"""JSON body values <-> Python values, driven by the model (shared by JSON 1.1 and rest-json).

Decoding gives what botocore's client was given: ``datetime`` for timestamps, ``bytes`` for blobs, member
names as in the model. A JSON value of the wrong type cannot become the model's type, so it is a
serialization failure (``SerializationException``), as in AWS's JSON services, not a validation error.
Unknown members are ignored, as AWS does; ``null`` means absent.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Mapping
from enum import Enum
from typing import Any

from bastion.api.errors import AwsError
from bastion.api.models import Shape
from bastion.api.protocols import timestamps

SERIALIZATION_EXCEPTION = "SerializationException"

_INT_BOUNDS = {"integer": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}
_SPECIAL_FLOATS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def serialization_error(message: str) -> AwsError:
    return AwsError(SERIALIZATION_EXCEPTION, message, status=400, sender_fault=True)


def load_body(body: bytes) -> Any:
    """The parsed JSON document of a request body; an empty body is ``{}``."""
    if not body.strip():
        return {}
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise serialization_error("Invalid JSON in request body.") from exc


def load_object(body: bytes) -> dict[str, Any]:
    document = load_body(body)
    if not isinstance(document, dict):
        raise serialization_error("Start of structure or map found where not expected.")
    return document


def dump(document: Any) -> bytes:
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


# ---------------------------------------------------------------------------------------------- decoding


def decode(shape: Shape, value: Any, path: str) -> Any:
    """A JSON value as the Python value of ``shape``; ``path`` names it in error messages."""
    kind = shape.type_name
    if kind == "structure":
        if shape.is_document_type:
            return value
        if not isinstance(value, dict):
            raise _wrong(path, "structure", value)
        return decode_members(shape, value, path)
    if kind == "list":
        if not isinstance(value, list):
            raise _wrong(path, "list", value)
        return [decode(shape.member, item, path) for item in value if item is not None]
    if kind == "map":
        if not isinstance(value, dict):
            raise _wrong(path, "map", value)
        return {key: decode(shape.value, item, path) for key, item in value.items() if item is not None}
    return decode_scalar(shape, value, path)


def decode_members(shape: Shape, document: Mapping[str, Any], path: str) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for name, member in shape.members.items():
        if member.serialization.get("location"):
            continue
        raw = document.get(member.serialization.get("name", name))
        if raw is not None:
            params[name] = decode(member, raw, _join(path, name))
    return params


def decode_scalar(shape: Shape, value: Any, path: str) -> Any:
    kind = shape.type_name
    if kind == "string":
        if isinstance(value, str):
            return value
        raise _wrong(path, "string", value)
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        raise _wrong(path, "boolean", value)
    if kind in ("integer", "long"):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, int) and not isinstance(value, bool):
            low, high = _INT_BOUNDS[kind]
            if low <= value <= high:
                return value
        raise _wrong(path, kind, value)
    if kind in ("float", "double"):
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str) and value in _SPECIAL_FLOATS:
            return _SPECIAL_FLOATS[value]
        raise _wrong(path, kind, value)
    if kind == "timestamp":
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise _wrong(path, "timestamp", value)
        try:
            return timestamps.to_datetime(value)
        except timestamps.TimestampError as exc:
            raise _wrong(path, "timestamp", value) from exc
    if kind == "blob":
        if not isinstance(value, str):
            raise _wrong(path, "blob", value)
        return decode_base64(value, path)
    return value


def decode_base64(text: str, path: str) -> bytes:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error, ValueError) as exc:
        raise serialization_error(f"Invalid base64 value for '{path}'.") from exc


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _wrong(path: str, expected: str, value: Any) -> AwsError:
    return serialization_error(f"Unexpected {_json_type(value)} for '{path}', expected {expected}.")


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


# ---------------------------------------------------------------------------------------------- encoding


def encode(shape: Shape, value: Any) -> Any:
    """A Python output value as JSON for ``shape`` (timestamps as epoch seconds unless the shape says not)."""
    kind = shape.type_name
    if kind == "structure":
        if shape.is_document_type:
            return value
        return encode_members(shape, value)
    if kind == "list":
        return [encode(shape.member, item) for item in value if item is not None]
    if kind == "map":
        return {str(key): encode(shape.value, item) for key, item in value.items() if item is not None}
    if kind == "timestamp":
        return timestamps.format_as(
            value, shape.serialization.get("timestampFormat", timestamps.EPOCH_SECONDS)
        )
    if kind == "blob":
        return encode_base64(value)
    if kind in ("float", "double"):
        number = float(value)
        if math.isnan(number):
            return "NaN"
        if math.isinf(number):
            return "Infinity" if number > 0 else "-Infinity"
        return number
    if kind in ("integer", "long"):
        return int(value)
    if kind == "boolean":
        return bool(value)
    if kind == "string":
        return text_of(value)
    return value


def text_of(value: Any) -> str:
    """A string member's text; enum members give their value (``str()`` of a str-Enum gives its name)."""
    if isinstance(value, str) and not isinstance(value, Enum):
        return value
    if isinstance(value, Enum):
        return str(value.value)
    return str(value)


def encode_members(shape: Shape, value: Mapping[str, Any], *, skip_located: bool = True) -> dict[str, Any]:
    document: dict[str, Any] = {}
    members = shape.members
    for name, item in value.items():
        member = members.get(name)
        if member is None or item is None:
            continue
        if skip_located and member.serialization.get("location"):
            continue
        document[member.serialization.get("name", name)] = encode(member, item)
    return document


def encode_base64(value: Any) -> str:
    raw = value.encode("utf-8") if isinstance(value, str) else bytes(value)
    return base64.b64encode(raw).decode("ascii")
