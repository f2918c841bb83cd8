"""Topic names and filters: validity, shared subscriptions, matching, and AWS IoT's extra limits.

Matching follows AWS IoT Core by default, which differs from the MQTT specifications in one place:
``sensor/#`` matches ``sensor/`` and ``sensor/x`` but **not** ``sensor`` (pass
``hash_matches_parent=True`` for the specification's behaviour). Both agree that a filter starting with
a wildcard does not match a topic starting with ``$`` (MQTT 5 section 4.7.2).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

__all__ = [
    "AWS_MAX_CLIENT_ID_BYTES",
    "AWS_MAX_SHARE_NAME_CHARS",
    "AWS_MAX_TOPIC_BYTES",
    "AWS_MAX_TOPIC_SLASHES",
    "BASIC_INGEST_PREFIX",
    "SHARE_PREFIX",
    "AwsLimitViolation",
    "SharedFilter",
    "aws_client_id_violation",
    "aws_topic_violation",
    "has_wildcard",
    "is_valid_topic_filter",
    "is_valid_topic_name",
    "parse_shared_filter",
    "topic_matches",
]

_MAX_STRING_BYTES: Final = 0xFFFF
SHARE_PREFIX: Final = "$share/"
BASIC_INGEST_PREFIX: Final = "$aws/rules/"

AWS_MAX_TOPIC_BYTES: Final = 256
AWS_MAX_TOPIC_SLASHES: Final = 7
AWS_MAX_CLIENT_ID_BYTES: Final = 128
AWS_MAX_SHARE_NAME_CHARS: Final = 128


def _utf8_size(text: str) -> int | None:
    """Encoded size, or None when the text cannot be an MQTT string (lone surrogate, U+0000)."""
    if "\x00" in text:
        return None
    try:
        return len(text.encode("utf-8"))
    except UnicodeEncodeError:
        return None


def has_wildcard(text: str) -> bool:
    return "+" in text or "#" in text


def is_valid_topic_name(name: str) -> bool:
    """A topic name a PUBLISH may carry: non-empty, no wildcard, an MQTT string of at most 65535 bytes."""
    if not name or has_wildcard(name):
        return False
    size = _utf8_size(name)
    return size is not None and size <= _MAX_STRING_BYTES


def _is_valid_plain_filter(topic_filter: str) -> bool:
    if not topic_filter:
        return False
    if not has_wildcard(topic_filter):
        return True
    levels = topic_filter.split("/")
    last = len(levels) - 1
    for index, level in enumerate(levels):
        if "#" in level and (level != "#" or index != last):
            return False
        if "+" in level and level != "+":
            return False
    return True


@dataclass(frozen=True, slots=True)
class SharedFilter:
    """``$share/<share_name>/<topic_filter>`` taken apart."""

    share_name: str
    topic_filter: str


def parse_shared_filter(topic_filter: str) -> SharedFilter | None:
    """Split a shared subscription; None for an ordinary filter.

    Raises ValueError for a filter that starts with ``$share/`` but is not a valid shared subscription
    (empty share name, share name with ``+`` or ``#``, missing or invalid filter part).
    """
    if not topic_filter.startswith(SHARE_PREFIX):
        return None
    share_name, slash, rest = topic_filter[len(SHARE_PREFIX) :].partition("/")
    if not share_name or has_wildcard(share_name):
        raise ValueError(f"invalid share name in {topic_filter!r}")
    if not slash or not _is_valid_plain_filter(rest):
        raise ValueError(f"invalid topic filter in shared subscription {topic_filter!r}")
    return SharedFilter(share_name, rest)


def is_valid_topic_filter(topic_filter: str, *, allow_shared: bool = True) -> bool:
    """A filter SUBSCRIBE or UNSUBSCRIBE may carry (section 4.7 of both specifications).

    ``#`` must be the whole last level, ``+`` a whole level. With ``allow_shared`` a ``$share/`` filter
    must be a well-formed shared subscription; without it, such a filter is refused.
    """
    size = _utf8_size(topic_filter)
    if size is None or size > _MAX_STRING_BYTES:
        return False
    if topic_filter.startswith(SHARE_PREFIX):
        if not allow_shared:
            return False
        try:
            parse_shared_filter(topic_filter)
        except ValueError:
            return False
        return True
    return _is_valid_plain_filter(topic_filter)


def topic_matches(topic_filter: str, topic: str, *, hash_matches_parent: bool = False) -> bool:
    """Whether a valid, non-shared ``topic_filter`` matches the topic name ``topic``.

    ``hash_matches_parent=False`` is AWS IoT Core (``a/#`` does not match ``a``); ``True`` is the
    specification (``a/#`` matches ``a``).
    """
    if topic.startswith("$") and topic_filter[:1] in ("+", "#"):
        return False
    if not has_wildcard(topic_filter):
        return topic_filter == topic
    topic_levels = topic.split("/")
    filter_levels = topic_filter.split("/")
    count = len(topic_levels)
    for index, level in enumerate(filter_levels):
        if level == "#":
            return count > index or (hash_matches_parent and count == index)
        if index >= count or (level != "+" and level != topic_levels[index]):
            return False
    return len(filter_levels) == count


class AwsLimitViolation(StrEnum):
    """Which AWS IoT Core default limit a topic, filter or client identifier breaks."""

    TOPIC_TOO_LONG = "topic exceeds 256 bytes"
    TOO_MANY_SLASHES = "topic has more than 7 forward slashes"
    SHARE_NAME_TOO_LONG = "share name exceeds 128 characters"
    CLIENT_ID_TOO_LONG = "client identifier exceeds 128 bytes"


def _strip_counted_prefixes(topic: str) -> tuple[str, AwsLimitViolation | None]:
    """Remove the ``$share/<name>/`` and ``$aws/rules/<rule>/`` prefixes that AWS leaves out of its counts."""
    if topic.startswith(SHARE_PREFIX):
        share_name, slash, rest = topic[len(SHARE_PREFIX) :].partition("/")
        if slash:
            if len(share_name) > AWS_MAX_SHARE_NAME_CHARS:
                return rest, AwsLimitViolation.SHARE_NAME_TOO_LONG
            topic = rest
    if topic.startswith(BASIC_INGEST_PREFIX):
        _rule, slash, rest = topic[len(BASIC_INGEST_PREFIX) :].partition("/")
        if slash:
            topic = rest
    return topic, None


def aws_topic_violation(topic: str) -> AwsLimitViolation | None:
    """AWS IoT's default limits for a topic name or filter, or None when within them.

    At most 256 UTF-8 bytes and 7 slashes, not counting a ``$aws/rules/<rule>/`` (Basic Ingest) or
    ``$share/<name>/`` prefix; a share name of at most 128 characters. Call it after the validity checks.
    """
    rest, violation = _strip_counted_prefixes(topic)
    if violation is not None:
        return violation
    if len(rest.encode("utf-8", "surrogatepass")) > AWS_MAX_TOPIC_BYTES:
        return AwsLimitViolation.TOPIC_TOO_LONG
    if rest.count("/") > AWS_MAX_TOPIC_SLASHES:
        return AwsLimitViolation.TOO_MANY_SLASHES
    return None


def aws_client_id_violation(client_id: str) -> AwsLimitViolation | None:
    """AWS IoT's client identifier limit (128 UTF-8 bytes), or None when within it."""
    if len(client_id.encode("utf-8", "surrogatepass")) > AWS_MAX_CLIENT_ID_BYTES:
        return AwsLimitViolation.CLIENT_ID_TOO_LONG
    return None
