"""Domain errors to AWS error codes, one table per service (codes as each service's model spells them)."""

from __future__ import annotations

from collections.abc import Mapping

from bastion.api.errors import AwsError
from bastion.services import errors as e

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
}
_DEFAULT: Mapping[type[e.ServiceError], tuple[str, int]] = {
    e.AccessDeniedError: ("AccessDeniedException", 403),
}
_QUERY_SERVICES = frozenset({"iam", "sts"})


def to_aws_error(service: str, error: e.ServiceError) -> AwsError:
    table = _TABLES.get(service, {})
    for cls in type(error).__mro__:
        entry = table.get(cls) or _DEFAULT.get(cls)
        if entry is not None:
            code, status = entry
            return AwsError(code, error.message, status=status)
    # A domain error without a mapping is a programming error: report it as the service's internal error.
    raise TypeError(f"no {service} error code for {type(error).__name__}") from error


def internal_error(service: str) -> AwsError:
    if service in _QUERY_SERVICES:
        return AwsError(
            "ServiceFailure" if service == "iam" else "InternalFailure",
            "We encountered an internal error. Please try again.",
            status=500,
            sender_fault=False,
        )
    return AwsError(
        "InternalFailure",
        "We encountered an internal error. Please try again.",
        status=500,
        sender_fault=False,
    )


def unsupported_operation(service: str, operation: str) -> AwsError:
    if service in _QUERY_SERVICES:
        return AwsError(
            "InvalidAction", f"The action {operation} is not valid for this endpoint.", status=400
        )
    return AwsError("UnknownOperationException", f"Operation {operation} is not supported.", status=400)
