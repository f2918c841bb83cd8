"""Opaque paging markers shared by every backend.

A marker names the listing it belongs to and the sort key of the last item handed out; the next page
starts strictly after that key. Encoding it (rather than passing an offset) keeps paging stable while
records are added or removed between calls.
"""

from __future__ import annotations

import base64
import binascii
import json

from bastion.storage.interfaces import InvalidMarker


def encode_marker(listing: str, *keys: str) -> str:
    payload = json.dumps([listing, *keys], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(payload).decode("ascii")


def decode_marker(listing: str, marker: str, n_keys: int) -> tuple[str, ...]:
    """Return the sort key(s) inside ``marker``; InvalidMarker when it is not one of ``listing``'s."""
    try:
        raw = base64.b64decode(marker.encode("ascii"), altchars=b"-_", validate=True)
        payload = json.loads(raw)
    except (UnicodeError, binascii.Error, ValueError, RecursionError):
        raise InvalidMarker(
            "the paging marker is not valid; pass the Marker from the previous page"
        ) from None
    if (
        not isinstance(payload, list)
        or len(payload) != n_keys + 1
        or payload[0] != listing
        or not all(isinstance(k, str) for k in payload[1:])
    ):
        raise InvalidMarker("the paging marker does not belong to this listing")
    return tuple(payload[1:])


def check_limit(limit: int) -> None:
    if limit < 1:
        raise ValueError(f"limit must be at least 1, not {limit}")
