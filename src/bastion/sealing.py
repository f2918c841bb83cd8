"""Sealing secrets with the server's master key (AES-256-GCM).

SigV4 needs the secret access key itself to recompute signatures, so secrets cannot be hashed like
passwords. They are stored sealed instead: the database alone never reveals them. Session tokens are
sealed the same way and carry the whole temporary session, so verifying temporary credentials needs no
database round trip and works on every node that shares the key.
"""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_NONCE_BYTES = 12
_KEY_BYTES = 32
_FORMAT_VERSION = b"\x01"


class UnsealError(ValueError):
    """The sealed value was not produced by this key, or was altered."""


class Sealer:
    def __init__(self, key: bytes) -> None:
        if len(key) != _KEY_BYTES:
            raise ValueError("master key must be 32 bytes")
        self._aead = AESGCM(key)

    def seal(self, plaintext: bytes, *, purpose: bytes) -> bytes:
        """Encrypt and authenticate; ``purpose`` binds the value to its use (a token cannot pose as a key)."""
        nonce = os.urandom(_NONCE_BYTES)
        return _FORMAT_VERSION + nonce + self._aead.encrypt(nonce, plaintext, purpose)

    def unseal(self, sealed: bytes, *, purpose: bytes) -> bytes:
        if len(sealed) < 1 + _NONCE_BYTES + 16 or sealed[:1] != _FORMAT_VERSION:
            raise UnsealError("not a sealed value")
        nonce = sealed[1 : 1 + _NONCE_BYTES]
        try:
            return self._aead.decrypt(nonce, sealed[1 + _NONCE_BYTES :], purpose)
        except InvalidTag as exc:
            raise UnsealError("sealed value failed authentication") from exc

    def seal_text(self, plaintext: str, *, purpose: bytes) -> str:
        """Seal to URL-safe base64 text without padding (usable in headers and query strings)."""
        raw = self.seal(plaintext.encode(), purpose=purpose)
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    def unseal_text(self, sealed: str, *, purpose: bytes) -> str:
        try:
            raw = base64.urlsafe_b64decode(sealed + "=" * (-len(sealed) % 4))
        except (ValueError, TypeError) as exc:
            raise UnsealError("not a sealed value") from exc
        try:
            return self.unseal(raw, purpose=purpose).decode()
        except UnicodeDecodeError as exc:
            raise UnsealError("sealed value is not text") from exc


def load_or_create_master_key(data_dir: Path, environ_value: str | None) -> bytes:
    """The master key: ``BASTION_MASTER_KEY`` (base64) if set, else ``<data dir>/master.key`` (mode 0600).

    Several nodes sharing one database must share this key, so scaled deployments set the variable.
    """
    if environ_value:
        try:
            key = base64.b64decode(environ_value, validate=True)
        except ValueError as exc:
            raise ValueError("BASTION_MASTER_KEY must be base64 of 32 bytes") from exc
        if len(key) != _KEY_BYTES:
            raise ValueError("BASTION_MASTER_KEY must be base64 of 32 bytes")
        return key
    path = data_dir / "master.key"
    if path.exists():
        key = base64.b64decode(path.read_text().strip())
        if len(key) != _KEY_BYTES:
            raise ValueError(f"{path} does not hold a 32-byte key")
        return key
    key = secrets.token_bytes(_KEY_BYTES)
    write_private_file(path, base64.b64encode(key).decode() + "\n")
    return key


def write_private_file(path: Path, text: str) -> None:
    """Create ``path`` readable by its owner only, atomically (never briefly world-readable)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.replace(tmp, path)
