"""AWS IoT's own domain errors (the shared ones live in bastion.services.errors)."""

from __future__ import annotations

from bastion.services.errors import LimitExceededError


class VersionsLimitExceededError(LimitExceededError):
    """A policy already has the maximum number of versions (IoT: VersionsLimitExceededException, 409)."""
