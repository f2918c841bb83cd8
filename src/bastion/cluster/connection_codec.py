"""The iot-data connection requests one node sends to the node holding a client id, and their answers,
as bytes on the client id's subject (``takeover``).

A request is one opcode byte, then JSON: ``0x01`` describe (no JSON: the connection and its
subscriptions), ``0x02`` disconnect (``{"cleanSession": bool, "preventWillMessage": bool}``). Opcodes
are below any printable byte, so a request is never the empty takeover body nor the ``PROBE`` text.

An answer is one JSON object: ``{"ok": {...}}`` (describe: ``connection`` and ``subscriptions``;
disconnect: empty) or ``{"error": "notFound" | "unavailable", "message": "..."}``.

Both sides come off the bus, so both are decoded as untrusted input: bounded sizes, exact types, every
field checked; anything else is :class:`BadQuery`.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass
from typing import Literal

from bastion.broker.events import DisconnectReason
from bastion.mqtt import is_valid_topic_filter
from bastion.services.iot_data import ConnectionInfo, SubscriptionInfo

DESCRIBE = 0x01
DISCONNECT = 0x02
MAX_REQUEST_BYTES = 256
# NATS's own default payload limit; a session has at most a few hundred subscriptions in practice.
MAX_ANSWER_BYTES = 1024 * 1024
MAX_SUBSCRIPTIONS = 10_000
MAX_FILTER_BYTES = 65_535
MAX_MESSAGE_CHARS = 1024
MAX_SOURCE_IP_CHARS = 64
_U32 = 2**32 - 1
_MAX_MS = 2**53  # epoch milliseconds, far beyond any real clock

ErrorKind = Literal["notFound", "unavailable"]
_ERROR_KINDS: frozenset[str] = frozenset(("notFound", "unavailable"))
_REASONS = frozenset(reason.value for reason in DisconnectReason)


class BadQuery(ValueError):
    """Bytes that are not a connection request or answer this version understands."""


@dataclass(frozen=True, slots=True)
class Describe:
    pass


@dataclass(frozen=True, slots=True)
class Disconnect:
    clean_session: bool
    prevent_will: bool


@dataclass(frozen=True, slots=True)
class Described:
    connection: ConnectionInfo
    subscriptions: tuple[SubscriptionInfo, ...]


@dataclass(frozen=True, slots=True)
class Refused:
    kind: ErrorKind
    message: str


Request = Describe | Disconnect


# ---- requests ------------------------------------------------------------------------------------------
def encode_describe() -> bytes:
    return bytes((DESCRIBE,))


def encode_disconnect(*, clean_session: bool, prevent_will: bool) -> bytes:
    fields = {"cleanSession": clean_session, "preventWillMessage": prevent_will}
    return bytes((DISCONNECT,)) + _dump(fields)


def is_request(body: bytes) -> bool:
    """Whether ``body`` is meant as a connection request (not a takeover, not a probe)."""
    return bool(body) and body[0] in (DESCRIBE, DISCONNECT)


def decode_request(body: bytes) -> Request:
    if not body or len(body) > MAX_REQUEST_BYTES:
        raise BadQuery("empty or oversized request")
    if body[0] == DESCRIBE:
        if len(body) != 1:
            raise BadQuery("describe takes no arguments")
        return Describe()
    if body[0] == DISCONNECT:
        fields = _object(_load(body[1:], MAX_REQUEST_BYTES), "request")
        _only(fields, {"cleanSession", "preventWillMessage"}, "request")
        return Disconnect(
            _bool(fields.get("cleanSession", False), "cleanSession"),
            _bool(fields.get("preventWillMessage", False), "preventWillMessage"),
        )
    raise BadQuery(f"unknown opcode {body[0]:#04x}")


# ---- answers -------------------------------------------------------------------------------------------
def encode_described(info: ConnectionInfo, subscriptions: tuple[SubscriptionInfo, ...]) -> bytes:
    connection = {
        "clientId": info.client_id,
        "connected": info.connected,
        "cleanSession": info.clean_session,
        "sessionExpiry": info.session_expiry,
        "keepAlive": info.keep_alive,
        "connectedSince": info.connected_since_ms,
        "disconnectedSince": info.disconnected_since_ms,
        "disconnectReason": info.disconnect_reason,
        "sourceIp": info.source_ip if _is_ip(info.source_ip) else None,
    }
    subs = [[sub.topic_filter, sub.qos] for sub in subscriptions]
    body = _dump({"ok": {"connection": connection, "subscriptions": subs}})
    if len(body) > MAX_ANSWER_BYTES or len(subs) > MAX_SUBSCRIPTIONS:
        return encode_refused("unavailable", "The connection is too large to describe between nodes.")
    return body


def encode_done() -> bytes:
    return _dump({"ok": {}})


def encode_refused(kind: ErrorKind, message: str) -> bytes:
    return _dump({"error": kind, "message": message[:MAX_MESSAGE_CHARS]})


def decode_described(body: bytes, client_id: str) -> Described | Refused:
    """The answer to a describe of ``client_id`` (an answer about another client id is refused)."""
    ok = _answer(body)
    if isinstance(ok, Refused):
        return ok
    _only(ok, {"connection", "subscriptions"}, "answer")
    connection = _connection(_object(ok.get("connection"), "connection"))
    if connection.client_id != client_id:
        raise BadQuery("the answer is about another client id")
    raw_subs = ok.get("subscriptions")
    if not isinstance(raw_subs, list) or len(raw_subs) > MAX_SUBSCRIPTIONS:
        raise BadQuery("subscriptions must be a bounded list")
    return Described(connection, tuple(_subscription(item) for item in raw_subs))


def decode_done(body: bytes) -> Refused | None:
    """The answer to a disconnect: None when it was done."""
    ok = _answer(body)
    if isinstance(ok, Refused):
        return ok
    if ok:
        raise BadQuery("a disconnect answer carries nothing")
    return None


def _answer(body: bytes) -> dict[str, object] | Refused:
    fields = _object(_load(body, MAX_ANSWER_BYTES), "answer")
    if "ok" in fields:
        _only(fields, {"ok"}, "answer")
        return _object(fields["ok"], "ok")
    _only(fields, {"error", "message"}, "answer")
    kind, message = fields.get("error"), fields.get("message")
    if not isinstance(kind, str) or kind not in _ERROR_KINDS:
        raise BadQuery("unknown error kind")
    if not isinstance(message, str) or not message or len(message) > MAX_MESSAGE_CHARS:
        raise BadQuery("the error message must be a short string")
    if not message.isprintable():
        raise BadQuery("the error message must be printable")
    return Refused("notFound" if kind == "notFound" else "unavailable", message)


def _connection(fields: dict[str, object]) -> ConnectionInfo:
    _only(fields, _CONNECTION_FIELDS, "connection")
    client_id = fields.get("clientId")
    if not isinstance(client_id, str):
        raise BadQuery("clientId must be a string")
    reason = fields.get("disconnectReason")
    if reason is not None and (not isinstance(reason, str) or reason not in _REASONS):
        raise BadQuery("unknown disconnectReason")
    return ConnectionInfo(
        client_id,
        connected=_bool(fields.get("connected"), "connected"),
        clean_session=_bool(fields.get("cleanSession"), "cleanSession"),
        session_expiry=_int(fields.get("sessionExpiry"), "sessionExpiry", _U32),
        keep_alive=_optional_int(fields.get("keepAlive"), "keepAlive", 65_535),
        connected_since_ms=_optional_int(fields.get("connectedSince"), "connectedSince", _MAX_MS),
        disconnected_since_ms=_optional_int(fields.get("disconnectedSince"), "disconnectedSince", _MAX_MS),
        disconnect_reason=reason,
        source_ip=_source_ip(fields.get("sourceIp")),
    )


_CONNECTION_FIELDS = {
    "clientId",
    "connected",
    "cleanSession",
    "sessionExpiry",
    "keepAlive",
    "connectedSince",
    "disconnectedSince",
    "disconnectReason",
    "sourceIp",
}


def _subscription(item: object) -> SubscriptionInfo:
    if not isinstance(item, list) or len(item) != 2:
        raise BadQuery("a subscription is [topicFilter, qos]")
    topic_filter, qos = item
    if not isinstance(topic_filter, str) or len(topic_filter.encode("utf-8", "replace")) > MAX_FILTER_BYTES:
        raise BadQuery("a topic filter must be a bounded string")
    if not is_valid_topic_filter(topic_filter):
        raise BadQuery("invalid topic filter")
    return SubscriptionInfo(topic_filter, _int(qos, "qos", 2))


def _is_ip(value: str | None) -> bool:
    if value is None or len(value) > MAX_SOURCE_IP_CHARS:
        return False
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _source_ip(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _is_ip(value):
        raise BadQuery("sourceIp must be an IP address")
    return value


# ---- JSON with exact types -----------------------------------------------------------------------------
def _dump(fields: object) -> bytes:
    return json.dumps(fields, separators=(",", ":"), ensure_ascii=False).encode()


def _no_constants(name: str) -> object:
    raise BadQuery(f"{name} is not JSON")


def _load(raw: bytes, limit: int) -> object:
    if len(raw) > limit:
        raise BadQuery("oversized")
    try:
        return json.loads(raw.decode("utf-8"), parse_constant=_no_constants)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise BadQuery(f"not JSON: {exc.__class__.__name__}") from None


def _object(value: object, what: str) -> dict[str, object]:
    if not isinstance(value, dict):
        raise BadQuery(f"{what} must be an object")
    return value


def _only(fields: dict[str, object], allowed: set[str], what: str) -> None:
    unknown = fields.keys() - allowed
    if unknown:
        raise BadQuery(f"unknown {what} fields: {sorted(unknown)[:3]}")


def _bool(value: object, name: str) -> bool:
    if not isinstance(value, bool):
        raise BadQuery(f"{name} must be a boolean")
    return value


def _int(value: object, name: str, maximum: int) -> int:
    if type(value) is not int or not 0 <= value <= maximum:  # bool is an int subclass: excluded
        raise BadQuery(f"{name} must be an integer in 0..{maximum}")
    return value


def _optional_int(value: object, name: str, maximum: int) -> int | None:
    return None if value is None else _int(value, name, maximum)
