"""Lockout after repeated wrong passwords, as Cognito does it.

After five consecutive failures a user is locked out for one second; each further failure doubles the
lockout, up to 15 minutes. Attempts during a lockout are refused ("Password attempts exceeded") without
being checked or counted, even with the right password. The count resets on a successful sign-in, and is
forgotten once 15 minutes pass after the last failure's lockout.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bastion.storage.cognito_idp import PoolUserRecord

FREE_ATTEMPTS = 5
MAX_LOCKOUT = timedelta(minutes=15)
FORGET_AFTER = timedelta(minutes=15)
EXCEEDED = "Password attempts exceeded"


def lockout(failures: int) -> timedelta:
    """How long the ``failures``-th consecutive failure locks the user out."""
    if failures < FREE_ATTEMPTS:
        return timedelta(0)
    return min(timedelta(seconds=2 ** min(failures - FREE_ATTEMPTS, 20)), MAX_LOCKOUT)


def locked_until(user: PoolUserRecord) -> datetime | None:
    if user.last_failure is None:
        return None
    duration = lockout(user.failed_attempts)
    return user.last_failure + duration if duration else None


def is_locked(user: PoolUserRecord, now: datetime) -> bool:
    until = locked_until(user)
    return until is not None and now < until


def is_stale(user: PoolUserRecord, now: datetime) -> bool:
    """True when the failures are old enough to be forgotten before counting a new one."""
    if user.last_failure is None or user.failed_attempts == 0:
        return False
    return now >= user.last_failure + lockout(user.failed_attempts) + FORGET_AFTER
