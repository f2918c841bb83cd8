"""The three AWS timestamp formats: epoch seconds, ISO 8601 and RFC 822 (HTTP date).

Each location has a default format (JSON bodies: epoch seconds; query, XML and rest query strings: ISO
8601; headers: HTTP date) that a shape's ``timestampFormat`` overrides. Parsing is lenient about which of
the three arrives (clients differ); formatting is exact.
"""

from __future__ import annotations

import email.utils
import math
from datetime import UTC, datetime
from typing import Any

EPOCH_SECONDS = "unixtimestamp"
ISO8601 = "iso8601"
RFC822 = "rfc822"


class TimestampError(ValueError):
    """The text or number is not a timestamp in any AWS format."""


def to_datetime(value: Any) -> datetime:
    """An aware UTC datetime from a datetime (naive means UTC), epoch seconds, or timestamp text."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, bool):
        raise TimestampError(f"not a timestamp: {value!r}")
    if isinstance(value, int | float):
        return from_epoch(value)
    if isinstance(value, str):
        return parse(value)
    raise TimestampError(f"not a timestamp: {value!r}")


def from_epoch(seconds: float) -> datetime:
    if not math.isfinite(seconds):
        raise TimestampError(f"not a timestamp: {seconds!r}")
    try:
        # Split whole and fractional parts so that milliseconds survive float rounding.
        whole = math.floor(seconds)
        micros = round((seconds - whole) * 1_000_000)
        return datetime.fromtimestamp(whole, UTC).replace(microsecond=min(micros, 999_999))
    except (OverflowError, OSError, ValueError) as exc:
        raise TimestampError(f"timestamp out of range: {seconds!r}") from exc


def parse(text: str) -> datetime:
    """Epoch seconds, ISO 8601 or RFC 822 text, whichever it is."""
    text = text.strip()
    if not text:
        raise TimestampError("empty timestamp")
    try:
        return from_epoch(float(text))
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        try:
            parsed = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError) as exc:
            raise TimestampError(f"not a timestamp: {text!r}") from exc
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def to_epoch(value: Any) -> int | float:
    """Epoch seconds: an integer when whole, else a float with millisecond precision (as AWS sends)."""
    moment = to_datetime(value)
    whole = int(moment.replace(microsecond=0).timestamp())
    millis = moment.microsecond // 1000
    return whole if millis == 0 else whole + millis / 1000


def to_iso8601(value: Any) -> str:
    moment = to_datetime(value)
    millis = moment.microsecond // 1000
    base = moment.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{base}.{millis:03d}Z" if millis else f"{base}Z"


def to_rfc822(value: Any) -> str:
    return email.utils.format_datetime(to_datetime(value).replace(microsecond=0), usegmt=True)


def format_as(value: Any, fmt: str) -> str | int | float:
    """Format in the named ``timestampFormat``."""
    fmt = fmt.lower()
    if fmt == EPOCH_SECONDS:
        return to_epoch(value)
    if fmt == RFC822:
        return to_rfc822(value)
    return to_iso8601(value)


def format_as_text(value: Any, fmt: str) -> str:
    """Like ``format_as`` but always text (headers, query strings, XML)."""
    formatted = format_as(value, fmt)
    return formatted if isinstance(formatted, str) else repr(formatted)
