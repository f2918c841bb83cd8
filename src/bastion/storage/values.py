"""Value rules every backend applies the same way: name keys, UTC times, tag merging, ARN accounts."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from bastion.storage.interfaces import Tag

ACCESS_KEY_STATUSES = ("Active", "Inactive")


def name_key(name: str) -> str:
    """The uniqueness and lookup key of an IAM name (IAM names are case-insensitive)."""
    return name.lower()


def utc(moment: datetime) -> datetime:
    """``moment`` in UTC; a naive datetime is refused because its zone would be a guess."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"datetime {moment.isoformat()} has no time zone; storage needs aware datetimes")
    return moment.astimezone(UTC)


def arn_account(arn: str) -> str:
    """The account field of an ARN (``arn:partition:service:region:account:resource``)."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or not parts[4]:
        raise ValueError(f"not an ARN with an account: {arn!r}")
    return parts[4]


def _fold(key: str, ignore_case: bool) -> str:
    return key.lower() if ignore_case else key


def merge_tags(current: Iterable[Tag], new: Sequence[Tag], *, ignore_case: bool) -> tuple[Tag, ...]:
    """Add ``new`` to ``current``; a new tag replaces the one with the same key (in place)."""
    merged: dict[str, Tag] = {_fold(t.key, ignore_case): t for t in current}
    for tag in new:
        merged[_fold(tag.key, ignore_case)] = Tag(tag.key, tag.value)
    return tuple(merged.values())


def remove_tags(current: Iterable[Tag], keys: Sequence[str], *, ignore_case: bool) -> tuple[Tag, ...]:
    drop = {_fold(k, ignore_case) for k in keys}
    return tuple(t for t in current if _fold(t.key, ignore_case) not in drop)


def check_status(status: str) -> None:
    if status not in ACCESS_KEY_STATUSES:
        raise ValueError(f"access key status must be Active or Inactive, not {status!r}")
