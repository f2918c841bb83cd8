"""Domain errors raised by services. Fronts translate them to each AWS protocol's error codes.

Messages are written as AWS writes them for the same condition, because clients show them to people.
"""

from __future__ import annotations

from collections.abc import Sequence


class ServiceError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFoundError(ServiceError):
    pass


class AlreadyExistsError(ServiceError):
    def __init__(
        self, message: str, *, resource_id: str | None = None, resource_arn: str | None = None
    ) -> None:
        super().__init__(message)
        self.resource_id = resource_id
        self.resource_arn = resource_arn


class ConflictError(ServiceError):
    """The entity is in use (e.g. a role that still has policies)."""


class LimitExceededError(ServiceError):
    pass


class InvalidInputError(ServiceError):
    pass


class UnmodifiableError(ServiceError):
    """The entity is managed by AWS (or Bastion) and cannot be changed."""


class MalformedPolicyError(ServiceError):
    def __init__(self, message: str, findings: Sequence[object] = ()) -> None:
        super().__init__(message)
        self.findings = tuple(findings)


class AccessDeniedError(ServiceError):
    pass


class NotAuthorizedError(ServiceError):
    """Authentication of an end user failed (Cognito's NotAuthorizedException)."""


class ExpiredTokenError(ServiceError):
    pass


class InvalidIdentityTokenError(ServiceError):
    pass
