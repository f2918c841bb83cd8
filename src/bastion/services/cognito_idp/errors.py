"""Cognito user-pool domain errors, one class per AWS error code (``api.error_mapping`` maps them).

The shared errors of ``bastion.services.errors`` are used where they fit: ``NotAuthorizedError``
(NotAuthorizedException), ``NotFoundError`` (ResourceNotFoundException), ``InvalidInputError``
(InvalidParameterException) and ``LimitExceededError`` (LimitExceededException).
"""

from __future__ import annotations

from bastion.services.errors import ServiceError


class UserNotFoundError(ServiceError):
    pass


class UsernameExistsError(ServiceError):
    pass


class AliasExistsError(ServiceError):
    pass


class InvalidPasswordError(ServiceError):
    pass


class CodeMismatchError(ServiceError):
    pass


class ExpiredCodeError(ServiceError):
    pass


class TooManyFailedAttemptsError(ServiceError):
    pass


class UserNotConfirmedError(ServiceError):
    pass


class PasswordResetRequiredError(ServiceError):
    pass


class CodeDeliveryFailureError(ServiceError):
    pass


class UnsupportedOperationError(ServiceError):
    pass


class UnsupportedTokenTypeError(ServiceError):
    pass


class UnauthorizedError(ServiceError):
    """RevokeToken's answer to a client that cannot prove it owns the token."""
