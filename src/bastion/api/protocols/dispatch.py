"""The protocol-neutral entry points: pick the service's protocol and delegate.

Every request goes through ``parse_request``, which validates the input against the model, so no handler
ever sees parameters AWS itself would have rejected.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bastion.api.errors import AwsError
from bastion.api.models import protocol, service_model
from bastion.api.protocols import json11, query, rest_json, validation
from bastion.api.protocols.base import HttpRequest, HttpResponse


def identify_operation(service: str, request: HttpRequest) -> str:
    """The operation a request calls; raises ``UnknownOperationError`` (an ``AwsError``) otherwise."""
    kind = protocol(service)
    if kind == "json":
        return json11.identify(service, request)
    if kind == "rest-json":
        return rest_json.identify(service, request)[0]
    if kind == "query":
        return query.identify(service, query.form_fields(request))
    raise NotImplementedError(f"protocol {kind} of {service}")


def parse_request(service: str, request: HttpRequest, *, validate: bool = True) -> tuple[str, dict[str, Any]]:
    """``(operation name, params)`` as botocore's client was given them, validated against the model.

    Raises ``AwsError`` for every problem with the request: unknown operation, malformed body, values of
    the wrong type, or constraint violations (the service's validation error).
    """
    kind = protocol(service)
    model = service_model(service)
    if kind == "json":
        name = json11.identify(service, request)
        params = json11.parse(model.operation_model(name), request)
    elif kind == "rest-json":
        name, labels = rest_json.identify(service, request)
        params = rest_json.parse(model.operation_model(name), request, labels)
    elif kind == "query":
        fields = query.form_fields(request)
        name = query.identify(service, fields)
        params = query.parse(model.operation_model(name), fields)
    else:
        raise NotImplementedError(f"protocol {kind} of {service}")
    if validate:
        validation.check(service, model.operation_model(name).input_shape, params)
    return name, params


def validate_params(service: str, operation: str, params: Mapping[str, Any]) -> None:
    """Raise the service's validation error if ``params`` break the operation's input constraints."""
    validation.check(service, service_model(service).operation_model(operation).input_shape, params)


def serialize_response(
    service: str, operation: str, output: Mapping[str, Any] | None, request_id: str
) -> HttpResponse:
    """The HTTP response for a successful call (the caller adds ``Date`` and any transport headers)."""
    op_model = service_model(service).operation_model(operation)
    kind = protocol(service)
    values = dict(output or {})
    if kind == "json":
        return json11.serialize(service, op_model, values, request_id)
    if kind == "rest-json":
        return rest_json.serialize(service, op_model, values, request_id)
    if kind == "query":
        return query.serialize(op_model, values, request_id)
    raise NotImplementedError(f"protocol {kind} of {service}")


def serialize_error(service: str, error: AwsError, request_id: str) -> HttpResponse:
    kind = protocol(service)
    if kind == "json":
        return json11.serialize_error(service, error, request_id)
    if kind == "rest-json":
        return rest_json.serialize_error(service, error, request_id)
    if kind == "query":
        return query.serialize_error(service, error, request_id)
    raise NotImplementedError(f"protocol {kind} of {service}")
