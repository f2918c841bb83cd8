"""Identifiers in the shapes AWS gives them (tools parse some of them: Amplify reads the pool id)."""

from __future__ import annotations

import secrets
import string
import uuid

_ALNUM = string.ascii_letters + string.digits
_LOWER_ALNUM = string.ascii_lowercase + string.digits


def _random(alphabet: str, length: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


def user_pool_id(region: str) -> str:
    """``<region>_<9 letters and digits>``: SDKs take the region from the prefix, SRP the suffix."""
    return f"{region}_{_random(_ALNUM, 9)}"


def client_id() -> str:
    return _random(_LOWER_ALNUM, 26)


def client_secret() -> str:
    return _random(_LOWER_ALNUM, 51)


def sub() -> str:
    return str(uuid.uuid4())


def pool_arn(region: str, account_id: str, pool_id: str) -> str:
    return f"arn:aws:cognito-idp:{region}:{account_id}:userpool/{pool_id}"
