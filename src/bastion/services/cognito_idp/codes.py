"""One-time codes (sign-up confirmation, password reset, attribute verification).

Six digits from a CSPRNG; only an HMAC (keyed with a server key, bound to pool, user and purpose) is
stored and compared in constant time. A code expires, allows ``MAX_ATTEMPTS`` wrong guesses and is
consumed by the right one; issuing a new code replaces the old.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime, timedelta

from bastion.clock import Clock
from bastion.services.cognito_idp.errors import CodeMismatchError, ExpiredCodeError
from bastion.services.cognito_idp.hashing import code_hash
from bastion.services.errors import LimitExceededError
from bastion.storage.cognito_idp import CodeRecord, CognitoIdpRepository

MAX_ATTEMPTS = 5
SIGN_UP = "SIGN_UP"
FORGOT_PASSWORD = "FORGOT_PASSWORD"  # noqa: S105 (a purpose name)
LIFETIMES = {SIGN_UP: timedelta(hours=24), FORGOT_PASSWORD: timedelta(hours=1)}
ATTRIBUTE_LIFETIME = timedelta(hours=24)

MISMATCH = "Invalid verification code provided, please try again."
EXPIRED = "Invalid code provided, please request a code again."
TOO_MANY = "Attempt limit exceeded, please try after some time."


def verify_purpose(attribute: str) -> str:
    return f"VERIFY:{attribute}"


def lifetime(purpose: str) -> timedelta:
    return LIFETIMES.get(purpose, ATTRIBUTE_LIFETIME)


class Codes:
    def __init__(self, repo: CognitoIdpRepository, key: bytes, clock: Clock) -> None:
        self._repo = repo
        self._key = key
        self._clock = clock

    async def issue(self, pool_id: str, sub: str, purpose: str) -> tuple[str, datetime]:
        """A new code for the user (replacing any earlier one of the same purpose) and its expiry."""
        code = f"{secrets.randbelow(1_000_000):06d}"
        now = self._clock.now()
        expires = now + lifetime(purpose)
        digest = code_hash(self._key, pool_id=pool_id, sub=sub, purpose=purpose, code=code)
        await self._repo.put_code(CodeRecord(pool_id, sub, purpose, digest, now, expires))
        return code, expires

    async def consume(self, pool_id: str, sub: str, purpose: str, code: str) -> None:
        """Accept ``code`` once; raise CodeMismatchError, ExpiredCodeError or LimitExceededError."""
        record = await self._repo.get_code(pool_id, sub, purpose)
        if record is None:
            raise CodeMismatchError(MISMATCH)
        if record.attempts >= MAX_ATTEMPTS:
            raise LimitExceededError(TOO_MANY)
        digest = code_hash(self._key, pool_id=pool_id, sub=sub, purpose=purpose, code=code)
        if not hmac.compare_digest(digest, record.code_hash):
            await self._repo.count_code_failure(pool_id, sub, purpose)
            raise CodeMismatchError(MISMATCH)
        if self._clock.now() >= record.expires:
            raise ExpiredCodeError(EXPIRED)
        await self._repo.delete_code(pool_id, sub, purpose)
