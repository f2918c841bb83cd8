"""The iot-data wire forms that botocore's model leaves to the service: MQTT 5 user properties and
correlation data in headers, payload format names, and the opaque paging tokens.

User properties travel as a JSON array of one-member objects, ``[{"deviceName": "alpha"}, {"deviceCnt":
"45"}]``: base64 of that text in the ``x-amz-mqtt5-user-properties`` header. botocore's model calls the
member a JSON value and the documentation tells SDK users to pass the array *as a string*, so an SDK
sends base64 of a JSON string holding the array, while curl users send base64 of the array itself; both
are accepted. The same array (names and values in order) is what GetRetainedMessage gives back.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from bastion.services.errors import InvalidInputError
from bastion.services.iot_data import UserProperties
from bastion.storage.interfaces import InvalidMarker
from bastion.storage.paging import decode_marker, encode_marker

PAYLOAD_FORMATS = {"UNSPECIFIED_BYTES": 0, "UTF8_DATA": 1}
MAX_MQTT_STRING_BYTES = 0xFFFF

T = TypeVar("T")


def mqtt_text(value: str, name: str) -> str:
    """``value`` if it can be an MQTT UTF-8 string (no U+0000, no lone surrogate, at most 65535 bytes)."""
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:
        raise InvalidInputError(f"{name} is not valid UTF-8 text.") from None
    if "\x00" in value or size > MAX_MQTT_STRING_BYTES:
        raise InvalidInputError(f"{name} is not a valid MQTT string.")
    return value


def parse_user_properties(value: Any) -> UserProperties:
    """The (name, value) pairs of the header's JSON value (see the module docstring)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            raise InvalidInputError("userProperties is not a JSON array.") from None
    if not isinstance(value, list):
        raise InvalidInputError("userProperties must be a JSON array of objects.")
    pairs: list[tuple[str, str]] = []
    for item in value:
        if not isinstance(item, dict):
            raise InvalidInputError("userProperties must be a JSON array of objects.")
        for key, text in item.items():
            if not isinstance(text, str):
                raise InvalidInputError(f"The value of user property {key!r} must be a string.")
            pairs.append((mqtt_text(key, "A user property name"), mqtt_text(text, "A user property value")))
    return tuple(pairs)


def render_user_properties(pairs: UserProperties) -> bytes | None:
    """The JSON array GetRetainedMessage returns (the serializer base64-encodes it); None when empty."""
    if not pairs:
        return None
    return json.dumps([{key: text} for key, text in pairs], separators=(",", ":")).encode("utf-8")


def parse_correlation_data(text: str) -> bytes:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error, ValueError):
        raise InvalidInputError("correlationData must be base64-encoded.") from None


def payload_format(name: str) -> int:
    found = PAYLOAD_FORMATS.get(name)
    if found is None:
        raise InvalidInputError(f"payloadFormatIndicator must be one of {', '.join(PAYLOAD_FORMATS)}.")
    return found


# ---- paging tokens: the listing's name and the sort key of the last item handed out -------------------


def encode_token(listing: str, last_key: str) -> str:
    return encode_marker(listing, last_key)


def decode_token(listing: str, token: str | None) -> str | None:
    """The sort key to continue after; InvalidInputError for a token this listing did not hand out."""
    if token is None:
        return None
    try:
        (after,) = decode_marker(listing, token, 1)
    except InvalidMarker:
        raise InvalidInputError("The nextToken is not valid; pass the one from the previous page.") from None
    return after


def page_sorted(
    listing: str, items: Sequence[T], key: Callable[[T], str], token: str | None, limit: int
) -> tuple[list[T], str | None]:
    """One page of a short in-memory list, ordered by ``key``; returns (items, next token)."""
    after = decode_token(listing, token)
    ordered = sorted(items, key=key)
    if after is not None:
        ordered = [item for item in ordered if key(item) > after]
    chosen = ordered[:limit]
    more = len(ordered) > limit
    return chosen, encode_token(listing, key(chosen[-1])) if more and chosen else None
