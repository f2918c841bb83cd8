"""Typed readings of condition values, for the policy side and the request side.

Every reader returns ``None`` instead of raising: on the policy side ``None`` becomes a
finding, on the request side it means "this request value does not satisfy the positive
comparison" (so a negated operator holds for it).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import ipaddress
import math
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from functools import lru_cache

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

ContextScalar = str | bool | int | float | bytes | dt.datetime | IpAddress
ContextValue = ContextScalar | Sequence[ContextScalar]

_NUMBER_CHARS = frozenset("0123456789+-.eE")
_EPOCH_CHARS = frozenset("0123456789+-.")


def _finite(number: Decimal) -> Decimal | None:
    return number if number.is_finite() else None


def parse_number(text: str) -> Decimal | None:
    """An integer or decimal as IAM's Numeric operators take it (no NaN, no infinities)."""
    if not text or len(text) > 100 or not all(char in _NUMBER_CHARS for char in text):
        return None
    try:
        return _finite(Decimal(text))
    except InvalidOperation:
        return None


def parse_date(text: str) -> float | None:
    """A W3C ISO 8601 date/time or epoch seconds, as seconds since the epoch (UTC)."""
    if not text or len(text) > 64:
        return None
    if len(text) == 4 and text.isdigit():  # W3C "YYYY" (a four-digit epoch would be 1970)
        return _timestamp(dt.datetime(int(text), 1, 1, tzinfo=dt.UTC))
    if len(text) == 7 and text[4] == "-" and text[:4].isdigit() and text[5:].isdigit():
        try:
            return _timestamp(dt.datetime(int(text[:4]), int(text[5:]), 1, tzinfo=dt.UTC))
        except ValueError:
            return None
    if all(char in _EPOCH_CHARS for char in text):
        try:
            seconds = float(text)
        except ValueError:
            pass  # e.g. 2021-01-01: not a number, try ISO 8601 below
        else:
            return seconds if math.isfinite(seconds) else None
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return _timestamp(moment)


def _timestamp(moment: dt.datetime) -> float | None:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    try:
        return moment.timestamp()
    except (OverflowError, ValueError, OSError):
        return None


def parse_bool(text: str) -> bool | None:
    lowered = text.lower()
    if lowered == "true":
        return True
    if lowered == "false":
        return False
    return None


def parse_network(text: str) -> IpNetwork | None:
    """A CIDR block or a single address (which IAM reads as /32 or /128)."""
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None


def parse_binary(text: str) -> bytes | None:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        return None


# --- request side ---------------------------------------------------------------------


def context_values(raw: object) -> tuple[object, ...]:
    """A context entry as a tuple of values (multi-valued keys come as sequences)."""
    if isinstance(raw, str | bytes):
        return (raw,)
    if isinstance(raw, list | tuple | set | frozenset):
        return tuple(raw)
    return (raw,)


def text_of(value: object) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, ipaddress.IPv4Address | ipaddress.IPv6Address):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return None


def number_of(value: object) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value)) if math.isfinite(value) else None
    if isinstance(value, str):
        return parse_number(value)
    return None


def date_of(value: object) -> float | None:
    if isinstance(value, dt.datetime):
        return _timestamp(value)
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        seconds = float(value)
        return seconds if math.isfinite(seconds) else None
    if isinstance(value, str):
        return parse_date(value)
    return None


def bool_of(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return parse_bool(value)
    return None


def address_of(value: object) -> IpAddress | None:
    address: IpAddress
    if isinstance(value, ipaddress.IPv4Address | ipaddress.IPv6Address):
        address = value
    elif isinstance(value, str):
        try:
            address = ipaddress.ip_address(value)
        except ValueError:
            return None
    else:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        # A dual-stack socket reports IPv4 clients as ::ffff:a.b.c.d; policies name them as IPv4.
        return address.ipv4_mapped
    return address


def _ipv4_number(text: str) -> int | None:
    """Dotted-quad text as an integer, without the cost of ``ipaddress`` (the common case)."""
    octets = text.split(".")
    if len(octets) != 4:
        return None
    number = 0
    for octet in octets:
        # Same rules as ipaddress: 1-3 ASCII digits, no leading zero (it would be ambiguous).
        if not (0 < len(octet) <= 3 and octet.isascii() and octet.isdigit()) or (
            octet[0] == "0" and len(octet) > 1
        ):
            return None
        value = int(octet)
        if value > 255:
            return None
        number = number << 8 | value
    return number


def address_key(value: object) -> tuple[int, int] | None:
    """A request address as (IP version, integer), for range checks."""
    if isinstance(value, str):
        # No address is longer than this; the bound also keeps huge strings out of the cache.
        return _text_address_key(value) if len(value) <= 64 else None
    address = address_of(value)
    return None if address is None else (address.version, int(address))


@lru_cache(maxsize=4096)
def _text_address_key(text: str) -> tuple[int, int] | None:
    # Cached: one connection's source address is checked on every request it makes.
    if text.count(".") == 3 and ":" not in text:
        number = _ipv4_number(text)
        return None if number is None else (4, number)
    address = address_of(text)
    return None if address is None else (address.version, int(address))


def clear_address_cache() -> None:
    """Forget parsed source addresses (for benchmarks that must not reuse them)."""
    _text_address_key.cache_clear()


def network_range(network: IpNetwork) -> tuple[int, int, int]:
    """(IP version, first address, last address) of a network, as integers."""
    return network.version, int(network.network_address), int(network.broadcast_address)


def bytes_of(value: object) -> bytes | None:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return parse_binary(value)
    return None
