"""botocore's service models, loaded once per process, and the few wire facts the models do not carry.

The models are botocore's own ``service-2.json`` files, so the shapes Bastion parses and serializes are by
construction the shapes the SDKs send and expect. Everything here is cached: a model is read once and its
error shapes are indexed once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

import botocore.loaders
import botocore.model

ServiceModel = Any  # botocore.model.ServiceModel (botocore ships no type information)
OperationModel = Any  # botocore.model.OperationModel
Shape = Any  # botocore.model.Shape


@dataclass(frozen=True, slots=True)
class ServiceWire:
    """Per-service wire facts: the error code AWS uses when input fails the model's constraints."""

    validation_error: str


# Checked against AWS error responses quoted in SDK issue trackers (IAM/STS ``ValidationError``,
# Cognito ``InvalidParameterException``); IoT and Lambda use their modeled "bad input" error.
SERVICE_WIRE: Mapping[str, ServiceWire] = {
    "iam": ServiceWire(validation_error="ValidationError"),
    "sts": ServiceWire(validation_error="ValidationError"),
    "cognito-idp": ServiceWire(validation_error="InvalidParameterException"),
    "cognito-identity": ServiceWire(validation_error="InvalidParameterException"),
    "iot": ServiceWire(validation_error="InvalidRequestException"),
    "iot-data": ServiceWire(validation_error="InvalidRequestException"),
    "lambda": ServiceWire(validation_error="InvalidParameterValueException"),
}

# Fallback for a service missing from the table: what Smithy-era services answer.
_DEFAULT_VALIDATION_ERROR = {"query": "ValidationError"}

# Codes that mean "the service failed", answered with 500 unless the model says otherwise.
INTERNAL_ERROR_CODES = frozenset(
    {
        "InternalError",
        "InternalErrorException",
        "InternalFailure",
        "InternalFailureException",
        "InternalServerError",
        "InternalServerException",
        "ServiceFailure",
        "ServiceException",
    }
)


@lru_cache(maxsize=1)
def _loader() -> Any:
    # Only the models shipped inside botocore: a stray ~/.aws/models file must not change the wire format.
    builtin = botocore.loaders.Loader.BUILTIN_DATA_PATH
    return botocore.loaders.Loader(extra_search_paths=[builtin], include_default_search_paths=False)


@cache
def service_model(service: str) -> ServiceModel:
    """The botocore model of ``service`` (botocore's name: ``iam``, ``iot-data``, ``cognito-idp``)."""
    data = _loader().load_service_model(service, "service-2")
    return botocore.model.ServiceModel(data, service_name=service)


def protocol(service: str) -> str:
    """``json``, ``rest-json`` or ``query`` (botocore's protocol names)."""
    return str(service_model(service).protocol)


def validation_error_code(service: str) -> str:
    wire = SERVICE_WIRE.get(service)
    if wire is not None:
        return wire.validation_error
    return _DEFAULT_VALIDATION_ERROR.get(protocol(service), "ValidationException")


@dataclass(frozen=True, slots=True)
class _ErrorIndex:
    by_shape_name: Mapping[str, Shape]
    by_wire_code: Mapping[str, Shape]


@cache
def _error_index(service: str) -> _ErrorIndex:
    by_name: dict[str, Shape] = {}
    by_code: dict[str, Shape] = {}
    for shape in service_model(service).error_shapes:
        by_name[shape.name] = shape
        code = (shape.metadata.get("error") or {}).get("code")
        by_code[code or shape.name] = shape
    return _ErrorIndex(by_name, by_code)


def error_shape(service: str, code: str) -> Shape | None:
    """The error shape for a wire code (``NoSuchEntity``) or a shape name (``NoSuchEntityException``)."""
    index = _error_index(service)
    return index.by_wire_code.get(code) or index.by_shape_name.get(code)


def wire_error_code(service: str, code: str) -> str:
    """The code the client sees for an error shape name or code.

    JSON protocols put the shape name on the wire; the query protocol puts the model's ``error.code``
    (IAM's ``NoSuchEntityException`` shape is sent as ``NoSuchEntity``). Unknown codes pass unchanged.
    """
    shape = _error_index(service).by_shape_name.get(code)
    if shape is None:
        return code
    if protocol(service) == "query":
        return str((shape.metadata.get("error") or {}).get("code") or shape.name)
    return str(shape.name)


def error_status(service: str, code: str) -> int:
    """HTTP status for an error code: the model's ``httpStatusCode``, else 500 for failures, else 400."""
    shape = error_shape(service, code)
    if shape is not None:
        status = (shape.metadata.get("error") or {}).get("httpStatusCode")
        if status:
            return int(status)
    return 500 if code in INTERNAL_ERROR_CODES else 400
