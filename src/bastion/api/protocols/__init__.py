"""Server-side AWS wire protocols: the mirror of botocore's serializers and parsers.

``parse_request`` turns an HTTP request into ``(operation, params)`` exactly as botocore's client was
given them, validated against botocore's model; ``serialize_response`` and ``serialize_error`` produce
the bytes botocore's parsers expect. Protocols: awsJson1_1 (``json11``), restJson1 (``rest_json``) and
awsQuery (``query``)::

    dispatch ──┬── json11 ─────┐
               ├── rest_json ──┼── jsonvalues, timestamps
               │   └ uri_router│
               └── query ──────┘
    validation ── javaregex          (constraints; Java patterns compiled for Python)
"""

from bastion.api.protocols.base import HttpRequest, HttpResponse
from bastion.api.protocols.dispatch import (
    identify_operation,
    parse_request,
    serialize_error,
    serialize_response,
    validate_params,
)

__all__ = [
    "HttpRequest",
    "HttpResponse",
    "identify_operation",
    "parse_request",
    "serialize_error",
    "serialize_response",
    "validate_params",
]
