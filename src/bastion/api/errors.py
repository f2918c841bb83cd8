"""The one error type every AWS front raises; the protocol serializers turn it into the wire error.

``AwsError`` knows nothing about JSON or XML. Its ``code`` is the code the client must see (``NoSuchEntity``
for IAM, ``ResourceAlreadyExistsException`` for IoT). Anything it leaves out (``status``, ``sender_fault``)
is filled in from the service model's error shape when the error is serialized.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class AwsError(Exception):
    """An AWS error response: code, message, and the optional extra members of the error shape.

    ``status``: the HTTP status; ``None`` means "as the service model says" (``error.httpStatusCode``),
    else 400, or 500 for the internal-failure codes.
    ``sender_fault``: the query protocol's ``<Type>Sender</Type>`` (True) or ``Receiver`` (False);
    ``None`` means "from the status": 5xx is the receiver's fault.
    ``fields``: extra members of the error shape, by model member name (IoT ``resourceId``/``resourceArn``,
    Cognito ``reasonCode``, Lambda ``Type``).
    """

    def __init__(
        self,
        code: str,
        message: str = "",
        *,
        status: int | None = None,
        sender_fault: bool | None = None,
        fields: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code
        self.message = message
        self.status = status
        self.sender_fault = sender_fault
        self.fields: dict[str, Any] = dict(fields or {})

    def __repr__(self) -> str:
        return f"AwsError({self.code!r}, {self.message!r}, status={self.status!r})"


class UnknownOperationError(AwsError):
    """No operation of the service matches the request (its code depends on the protocol)."""


class RequestValidationError(AwsError):
    """The request's parameters break the model's constraints; ``problems`` are the individual texts."""

    def __init__(self, code: str, problems: list[str]) -> None:
        count = len(problems)
        noun = "validation error" if count == 1 else "validation errors"
        super().__init__(
            code, f"{count} {noun} detected: " + "; ".join(problems), status=400, sender_fault=True
        )
        self.problems = list(problems)
