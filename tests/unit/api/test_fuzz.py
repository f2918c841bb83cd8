"""Whatever arrives from the network, parsing either succeeds or raises ``AwsError``, and every such error
serializes. Inputs are random bytes and text plus near-valid requests built from the real models (real
targets, actions, URI templates and member names with random values), which reach deeper code paths."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bastion.api.errors import AwsError
from bastion.api.models import service_model
from bastion.api.protocols import HttpRequest, parse_request, serialize_error

SERVICES = ["iam", "sts", "cognito-idp", "cognito-identity", "iot", "iot-data", "lambda"]
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

text = st.text(max_size=40)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=12,
)


def _member_names(shape: Any, depth: int = 0) -> list[str]:
    if shape is None or depth > 2:
        return []
    names: list[str] = []
    if shape.type_name == "structure" and not shape.is_document_type:
        for name, member in shape.members.items():
            names.append(member.serialization.get("name", name))
            names.extend(f"{name}.{sub}" for sub in _member_names(member, depth + 1))
    elif shape.type_name == "list":
        names.extend(f"member.1.{sub}" for sub in ["", *_member_names(shape.member, depth + 1)])
    elif shape.type_name == "map":
        names.extend(["entry.1.key", "entry.1.value"])
    return names


def _check(service: str, request: HttpRequest) -> None:
    try:
        parse_request(service, request)
    except AwsError as error:
        response = serialize_error(service, error, "fuzz")
        assert 400 <= response.status < 600


@st.composite
def near_valid(draw: st.DrawFn) -> tuple[str, HttpRequest]:
    service = draw(st.sampled_from(SERVICES))
    model = service_model(service)
    operation = model.operation_model(draw(st.sampled_from(sorted(model.operation_names))))
    names = _member_names(operation.input_shape) or ["x"]
    protocol = model.protocol
    headers: list[tuple[str, str]] = draw(
        st.lists(st.tuples(st.sampled_from(["X-Amz-Target", *names]), text), max_size=3)
    )
    if protocol == "json":
        headers.append(("X-Amz-Target", f"{model.metadata['targetPrefix']}.{operation.name}"))
        body = json.dumps(draw(st.dictionaries(st.sampled_from(names), json_values, max_size=5))).encode()
        return service, HttpRequest("POST", "/", "", headers, body)
    if protocol == "query":
        fields = draw(st.lists(st.tuples(st.sampled_from(names), text), max_size=6))
        form = [("Action", operation.name), ("Version", model.metadata["apiVersion"]), *fields]
        return service, HttpRequest("POST", "/", "", headers, urllib.parse.urlencode(form).encode())
    uri = operation.http["requestUri"]
    path, _, literal_query = uri.partition("?")
    segments = [
        urllib.parse.quote(draw(text), safe="") if part.startswith("{") else part for part in path.split("/")
    ]
    query = urllib.parse.urlencode(draw(st.lists(st.tuples(st.sampled_from(names), text), max_size=4)))
    body = draw(st.one_of(st.binary(max_size=64), json_values.map(lambda v: json.dumps(v).encode())))
    return service, HttpRequest(
        operation.http["method"],
        "/".join(segments),
        "&".join(q for q in (literal_query, query) if q),
        headers,
        body,
    )


@FUZZ
@given(near_valid())
def test_near_valid_requests_only_raise_aws_errors(case: tuple[str, HttpRequest]) -> None:
    _check(*case)


@FUZZ
@given(
    service=st.sampled_from(SERVICES),
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "BREW"]),
    path=st.text(max_size=60).map(lambda p: "/" + p),
    query=st.text(max_size=60),
    headers=st.lists(st.tuples(st.text(max_size=20), st.text(max_size=40)), max_size=4),
    body=st.binary(max_size=200),
)
def test_garbage_requests_only_raise_aws_errors(
    service: str, method: str, path: str, query: str, headers: list[tuple[str, str]], body: bytes
) -> None:
    _check(service, HttpRequest(method, path, query, headers, body))
