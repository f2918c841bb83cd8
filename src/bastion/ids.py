"""Identifiers in AWS's shapes (prefixes tell a key's or entity's kind, as AWS's do)."""

from __future__ import annotations

import secrets
import string
import uuid

_UPPER_ALNUM = string.ascii_uppercase + "234567"
_SECRET_ALPHABET = string.ascii_letters + string.digits + "+/"


def _random(alphabet: str, length: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


def long_term_access_key_id() -> str:
    return "AKIA" + _random(_UPPER_ALNUM, 16)


def temporary_access_key_id() -> str:
    return "ASIA" + _random(_UPPER_ALNUM, 16)


def secret_access_key() -> str:
    return _random(_SECRET_ALPHABET, 40)


def role_id() -> str:
    return "AROA" + _random(_UPPER_ALNUM, 17)


def user_id() -> str:
    return "AIDA" + _random(_UPPER_ALNUM, 17)


def managed_policy_id() -> str:
    return "ANPA" + _random(_UPPER_ALNUM, 17)


def request_id() -> str:
    return str(uuid.uuid4())
