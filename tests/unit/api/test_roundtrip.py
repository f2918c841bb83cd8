"""Every operation of every served service, both directions, with botocore as the oracle.

Requests: botocore's serializer encodes sample params; ``parse_request`` (with validation on) must name
the same operation and give back exactly the same params. Responses: ``serialize_response`` encodes sample
outputs; botocore's parser must read back exactly the same dict.
"""

from __future__ import annotations

from typing import Any

import pytest

from bastion.api.models import service_model
from bastion.api.protocols import parse_request, serialize_response

from .botocore_oracle import botocore_parse, botocore_request
from .shape_samples import Samples

SERVICES = ["iam", "sts", "cognito-idp", "cognito-identity", "iot", "iot-data", "lambda"]


def _operations(service: str) -> list[Any]:
    model = service_model(service)
    ops = [model.operation_model(name) for name in model.operation_names]
    # Event streams (Lambda InvokeWithResponseStream) are outside what Bastion serves.
    return [op for op in ops if not (op.has_event_stream_input or op.has_event_stream_output)]


@pytest.mark.parametrize("full", [False, True], ids=["required-only", "all-members"])
@pytest.mark.parametrize("service", SERVICES)
def test_botocore_requests_parse_back_to_the_same_params(service: str, full: bool) -> None:
    mismatches = []
    operations = _operations(service)
    for op in operations:
        params = Samples(full=full).structure(op.input_shape) if op.input_shape is not None else {}
        request = botocore_request(service, op.name, params)
        name, parsed = parse_request(service, request)
        if (name, parsed) != (op.name, params):
            mismatches.append((op.name, name, params, parsed))
    assert not mismatches, mismatches[:3]
    assert len(operations) >= 10


def _comparable_output(op: Any, output: dict[str, Any]) -> dict[str, Any]:
    """What botocore's bare parser returns for ``output``: raw payloads as text, status members filled."""
    expected = dict(output)
    shape = op.output_shape
    payload = shape.serialization.get("payload")
    if payload is not None and shape.members[payload].type_name in ("blob", "string"):
        value = expected.get(payload, b"")
        expected[payload] = value.decode() if isinstance(value, bytes) else value
    for name, member in shape.members.items():
        if member.serialization.get("location") == "statusCode":
            expected[name] = output.get(name) or int(op.http.get("responseCode", 200))
    return expected


@pytest.mark.parametrize("full", [False, True], ids=["required-only", "all-members"])
@pytest.mark.parametrize("service", SERVICES)
def test_serialized_outputs_parse_back_in_botocore(service: str, full: bool) -> None:
    mismatches = []
    for op in _operations(service):
        output = Samples(full=full, output=True).structure(op.output_shape) if op.output_shape else {}
        response = serialize_response(service, op.name, output, "req-42")
        parsed = botocore_parse(service, op.name, response)
        metadata = parsed.pop("ResponseMetadata")
        expected = _comparable_output(op, output) if op.output_shape else {}
        if parsed != expected or metadata.get("RequestId") != "req-42":
            mismatches.append((op.name, expected, parsed))
        assert response.header("x-amzn-RequestId") == "req-42"
    assert not mismatches, mismatches[:3]
