"""Keyed hashes: SECRET_HASH, stored one-time codes, and the service keys derived from the master key."""

from __future__ import annotations

import base64
import hashlib
import hmac


def derive_key(master_key: bytes, label: str) -> bytes:
    """A 32-byte key for one use, derived from the master key (so one secret protects them all)."""
    return hmac.new(master_key, b"bastion/cognito-idp/" + label.encode(), hashlib.sha256).digest()


def secret_hash(client_secret: str, username: str, client_id: str) -> str:
    """Base64(HMAC-SHA256(key=client secret, message=username + client id)), as the SDKs compute it."""
    digest = hmac.new(client_secret.encode(), (username + client_id).encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def secret_hash_matches(client_secret: str, usernames: tuple[str, ...], client_id: str, given: str) -> bool:
    """True when ``given`` is the SECRET_HASH of one of ``usernames`` (constant time for each)."""
    found = False
    for name in usernames:
        found |= hmac.compare_digest(secret_hash(client_secret, name, client_id).encode(), given.encode())
    return found


def code_hash(key: bytes, *, pool_id: str, sub: str, purpose: str, code: str) -> bytes:
    """What is stored for a one-time code: bound to the user and purpose, useless without the key."""
    message = "\x00".join((pool_id, sub, purpose, code)).encode()
    return hmac.new(key, message, hashlib.sha256).digest()
