"""Domain errors to AWS error codes, one table per service (codes as each service's model spells them)."""

from __future__ import annotations

from collections.abc import Mapping

from bastion.api.errors import AwsError
from bastion.api.models import protocol
from bastion.services import errors as e
from bastion.services.cognito_identity import errors as cognito_identity
from bastion.services.cognito_idp import errors as cognito_idp
from bastion.services.iot.errors import VersionsLimitExceededError
from bastion.services.iot_data import PayloadTooLargeError, UnavailableError

_TABLES: Mapping[str, Mapping[type[e.ServiceError], tuple[str, int]]] = {
    "iam": {
        e.NotFoundError: ("NoSuchEntity", 404),
        e.AlreadyExistsError: ("EntityAlreadyExists", 409),
        e.ConflictError: ("DeleteConflict", 409),
        e.LimitExceededError: ("LimitExceeded", 409),
        e.InvalidInputError: ("InvalidInput", 400),
        e.MalformedPolicyError: ("MalformedPolicyDocument", 400),
        e.AccessDeniedError: ("AccessDenied", 403),
        e.UnmodifiableError: ("UnmodifiableEntity", 400),
    },
    "sts": {
        e.AccessDeniedError: ("AccessDenied", 403),
        e.InvalidInputError: ("ValidationError", 400),
        e.MalformedPolicyError: ("MalformedPolicyDocument", 400),
        e.InvalidIdentityTokenError: ("InvalidIdentityToken", 400),
        e.ExpiredTokenError: ("ExpiredTokenException", 400),
        e.NotFoundError: ("AccessDenied", 403),
    },
    "cognito-identity": {
        e.NotFoundError: ("ResourceNotFoundException", 400),
        e.NotAuthorizedError: ("NotAuthorizedException", 400),
        e.InvalidInputError: ("InvalidParameterException", 400),
        e.ConflictError: ("ResourceConflictException", 400),
        e.AlreadyExistsError: ("ResourceConflictException", 400),
        e.LimitExceededError: ("LimitExceededException", 400),
        cognito_identity.InvalidPoolConfigurationError: ("InvalidIdentityPoolConfigurationException", 400),
        cognito_identity.ClassicFlowDisabledError: ("InvalidParameterException", 400),
    },
    "cognito-idp": {
        e.NotFoundError: ("ResourceNotFoundException", 400),
        e.NotAuthorizedError: ("NotAuthorizedException", 400),
        e.InvalidInputError: ("InvalidParameterException", 400),
        e.LimitExceededError: ("LimitExceededException", 400),
        cognito_idp.UserNotFoundError: ("UserNotFoundException", 400),
        cognito_idp.UsernameExistsError: ("UsernameExistsException", 400),
        cognito_idp.AliasExistsError: ("AliasExistsException", 400),
        cognito_idp.InvalidPasswordError: ("InvalidPasswordException", 400),
        cognito_idp.CodeMismatchError: ("CodeMismatchException", 400),
        cognito_idp.ExpiredCodeError: ("ExpiredCodeException", 400),
        cognito_idp.TooManyFailedAttemptsError: ("TooManyFailedAttemptsException", 400),
        cognito_idp.UserNotConfirmedError: ("UserNotConfirmedException", 400),
        cognito_idp.PasswordResetRequiredError: ("PasswordResetRequiredException", 400),
        cognito_idp.CodeDeliveryFailureError: ("CodeDeliveryFailureException", 400),
        cognito_idp.UnsupportedOperationError: ("UnsupportedOperationException", 400),
        cognito_idp.UnsupportedTokenTypeError: ("UnsupportedTokenTypeException", 400),
        cognito_idp.UnauthorizedError: ("UnauthorizedException", 400),
    },
    "iot": {
        e.NotFoundError: ("ResourceNotFoundException", 404),
        e.AlreadyExistsError: ("ResourceAlreadyExistsException", 409),
        e.ConflictError: ("DeleteConflictException", 409),
        VersionsLimitExceededError: ("VersionsLimitExceededException", 409),
        e.LimitExceededError: ("LimitExceededException", 410),
        e.InvalidInputError: ("InvalidRequestException", 400),
        e.MalformedPolicyError: ("MalformedPolicyException", 400),
    },
    "iot-data": {
        # aws-notes §6.1: an IAM deny on the data plane is ForbiddenException, not AccessDenied.
        e.AccessDeniedError: ("ForbiddenException", 403),
        e.NotFoundError: ("ResourceNotFoundException", 404),
        e.InvalidInputError: ("InvalidRequestException", 400),
        # The retained-message limit: AWS throttles such publishes.
        e.LimitExceededError: ("ThrottlingException", 429),
        PayloadTooLargeError: ("RequestEntityTooLargeException", 413),
        UnavailableError: ("ServiceUnavailableException", 503),
    },
}
_DEFAULT: Mapping[type[e.ServiceError], tuple[str, int]] = {
    e.AccessDeniedError: ("AccessDeniedException", 403),
}


def to_aws_error(service: str, error: e.ServiceError) -> AwsError:
    table = _TABLES.get(service, {})
    for cls in type(error).__mro__:
        entry = table.get(cls) or _DEFAULT.get(cls)
        if entry is not None:
            code, status = entry
            return AwsError(code, error.message, status=status, fields=_fields(service, error))
    # A domain error without a mapping is a programming error: report it as the service's internal error.
    raise TypeError(f"no {service} error code for {type(error).__name__}") from error


def _fields(service: str, error: e.ServiceError) -> dict[str, str]:
    """Extra members of the error shape (IoT's ResourceAlreadyExistsException: resourceId, resourceArn)."""
    if protocol(service) == "query" or not isinstance(error, e.AlreadyExistsError):
        return {}
    fields = {"resourceId": error.resource_id, "resourceArn": error.resource_arn}
    return {key: value for key, value in fields.items() if value is not None}


def internal_error(service: str) -> AwsError:
    code = "ServiceFailure" if service == "iam" else "InternalFailure"  # IAM's model names it ServiceFailure
    return AwsError(
        code, "We encountered an internal error. Please try again.", status=500, sender_fault=False
    )


def unsupported_operation(service: str, operation: str) -> AwsError:
    if protocol(service) == "query":
        return AwsError(
            "InvalidAction", f"The action {operation} is not valid for this endpoint.", status=400
        )
    return AwsError("UnknownOperationException", f"Operation {operation} is not supported.", status=400)
