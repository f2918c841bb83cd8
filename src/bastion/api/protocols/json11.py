"""awsJson1_1 (Cognito user pools and identity pools): ``POST /`` with ``X-Amz-Target: <prefix>.<Op>``.

Success: 200, ``application/x-amz-json-1.1``, the output structure as JSON (``{}`` when there is none).
Error: ``{"__type": "<Code>", "message": "..."}`` plus any extra members of the error shape, and the header
``x-amzn-ErrorType: <Code>:``. ``__type`` is what amazon-cognito-identity-js reads, so it is always sent.
"""

from __future__ import annotations

from typing import Any

from bastion.api.errors import AwsError, UnknownOperationError
from bastion.api.models import OperationModel, error_shape, error_status, service_model, wire_error_code
from bastion.api.protocols import jsonvalues
from bastion.api.protocols.base import HttpRequest, HttpResponse

UNKNOWN_OPERATION = "UnknownOperationException"


def content_type(service: str) -> str:
    version = service_model(service).metadata.get("jsonVersion", "1.1")
    return f"application/x-amz-json-{version}"


def identify(service: str, request: HttpRequest) -> str:
    model = service_model(service)
    target = request.header("x-amz-target") or ""
    prefix, _, operation = target.rpartition(".")
    if prefix != model.metadata.get("targetPrefix") or operation not in model.operation_names:
        raise UnknownOperationError(UNKNOWN_OPERATION, "", status=400, sender_fault=True)
    return operation


def parse(operation: OperationModel, request: HttpRequest) -> dict[str, Any]:
    document = jsonvalues.load_object(request.body)
    shape = operation.input_shape
    if shape is None:
        return {}
    try:
        return jsonvalues.decode_members(shape, document, "")
    except RecursionError as exc:
        raise jsonvalues.serialization_error("Request body is nested too deeply.") from exc


def serialize(service: str, operation: OperationModel, output: Any, request_id: str) -> HttpResponse:
    shape = operation.output_shape
    document = jsonvalues.encode_members(shape, output or {}) if shape is not None else {}
    headers = [("x-amzn-RequestId", request_id), ("Content-Type", content_type(service))]
    return HttpResponse(200, headers, jsonvalues.dump(document))


def serialize_error(service: str, error: AwsError, request_id: str) -> HttpResponse:
    code = wire_error_code(service, error.code)
    status = error.status or error_status(service, code)
    document: dict[str, Any] = {"__type": code}
    document.update(error_members(service, code, error))
    headers = [
        ("x-amzn-RequestId", request_id),
        ("x-amzn-ErrorType", f"{code}:"),
        ("Content-Type", content_type(service)),
    ]
    return HttpResponse(status, headers, jsonvalues.dump(document))


def error_members(service: str, code: str, error: AwsError) -> dict[str, Any]:
    """``message`` (spelled as the error shape spells it) and the error's extra members, as JSON."""
    shape = error_shape(service, code)
    extra = {k: v for k, v in error.fields.items() if k.lower() != "message"}
    if shape is None:
        return {"message": error.message, **_plain(extra)}
    message_key = "message"
    for name, member in shape.members.items():
        if name.lower() == "message" and not member.serialization.get("location"):
            message_key = member.serialization.get("name", name)
    document: dict[str, Any] = {message_key: error.message}
    document.update(jsonvalues.encode_members(shape, extra))
    # Fields the model does not know still reach the client, as AWS sends undocumented members too.
    document.update(_plain({k: v for k, v in extra.items() if k not in shape.members}))
    return document


def _plain(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if isinstance(v, str | int | float | bool)}
