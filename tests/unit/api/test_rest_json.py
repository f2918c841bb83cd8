"""rest-json routing (raw-path splitting, specificity, greedy labels, literal query parts) and body rules."""

from __future__ import annotations

import base64
import json

import pytest

from bastion.api.errors import AwsError
from bastion.api.protocols import HttpRequest, identify_operation, parse_request, serialize_response
from bastion.api.protocols.rest_json import split_header_list
from bastion.api.protocols.uri_router import RestRouter

ROUTER = RestRouter(
    [
        ("GetSpecial", "GET", "/things/special"),
        ("GetThing", "GET", "/things/{thingName}"),
        ("GetShadow", "GET", "/things/{thingName}/shadow"),
        ("GetABD", "GET", "/a/b/d"),
        ("GetAXC", "GET", "/a/{x}/c"),
        ("GetObject", "GET", "/{Bucket}/{Key+}"),
        ("GetTags", "GET", "/tags/{Key+}/list"),
        ("ListLayers", "GET", "/layers"),
        ("GetLayerByArn", "GET", "/layers?find=LayerVersion"),
        ("Versioning", "GET", "/cfg?versioning"),
    ]
)


@pytest.mark.parametrize(
    ("path", "query", "operation", "labels"),
    [
        ("/things/special", {}, "GetSpecial", {}),
        ("/things/lamp", {}, "GetThing", {"thingName": "lamp"}),
        ("/things/special/shadow", {}, "GetShadow", {"thingName": "special"}),
        ("/things/a%2Fb", {}, "GetThing", {"thingName": "a/b"}),
        ("/a/b/c", {}, "GetAXC", {"x": "b"}),  # literal 'b' dead-ends, the label branch matches
        ("/a/b/d", {}, "GetABD", {}),
        ("/bucket/dir/file%20name.txt", {}, "GetObject", {"Bucket": "bucket", "Key": "dir/file name.txt"}),
        ("/tags/x/y/list", {}, "GetTags", {"Key": "x/y"}),
        ("/layers", {}, "ListLayers", {}),
        ("/layers", {"find": ["LayerVersion"]}, "GetLayerByArn", {}),
        ("/layers", {"find": ["Other"]}, "ListLayers", {}),
        ("/cfg", {"versioning": [""]}, "Versioning", {}),
    ],
)
def test_router_matches_most_specific_route(
    path: str, query: dict[str, list[str]], operation: str, labels: dict[str, str]
) -> None:
    match = ROUTER.match("GET", path, query)
    assert match is not None
    assert (match.operation, match.labels) == (operation, labels)


@pytest.mark.parametrize("path", ["/things/", "/cfg", "/x", "/layers/"])
def test_router_misses(path: str) -> None:
    assert ROUTER.match("GET", path, {}) is None
    assert ROUTER.match("POST", "/things/lamp", {}) is None


def test_real_models_route_quirky_iot_operations() -> None:
    cases = [
        ("PATCH", "/policies/p/version/2", "SetDefaultPolicyVersion"),
        ("PUT", "/target-policies/p", "AttachPolicy"),
        ("POST", "/target-policies/p", "DetachPolicy"),
        ("POST", "/attached-policies/us-east-1%3Aabc", "ListAttachedPolicies"),
        ("GET", "/policies", "ListPolicies"),
        (
            "GET",
            "/destinations/arn%3Aaws%3Aiot%3Aus-east-1%3A1%3Aruledestination/http/abc",
            "GetTopicRuleDestination",
        ),
        ("GET", "/authorizers/", "ListAuthorizers"),
    ]
    for method, path, operation in cases:
        assert identify_operation("iot", HttpRequest(method, path)) == operation


def test_iot_data_publish_params_from_every_location() -> None:
    properties = base64.b64encode(b'[{"a":"1"}]').decode()
    request = HttpRequest(
        "POST",
        "/topics/dev%2F42%2Ftemp",
        "qos=1&retain=true&contentType=text%2Fplain&messageExpiry=60",
        [("x-amz-mqtt5-user-properties", properties), ("x-amz-mqtt5-payload-format-indicator", "UTF8_DATA")],
        b"\x00raw",
    )
    assert parse_request("iot-data", request) == (
        "Publish",
        {
            "topic": "dev/42/temp",
            "qos": 1,
            "retain": True,
            "contentType": "text/plain",
            "messageExpiry": 60,
            "userProperties": [{"a": "1"}],
            "payloadFormatIndicator": "UTF8_DATA",
            "payload": b"\x00raw",
        },
    )


def test_header_located_principal_for_deprecated_iot_calls() -> None:
    request = HttpRequest("PUT", "/principal-policies/p1", "", [("X-Amzn-Iot-Principal", "us-east-1:abc")])
    assert parse_request("iot", request) == (
        "AttachPrincipalPolicy",
        {"policyName": "p1", "principal": "us-east-1:abc"},
    )
    with pytest.raises(AwsError) as raised:
        parse_request("iot", HttpRequest("PUT", "/principal-policies/p1"))
    assert raised.value.code == "InvalidRequestException"
    assert "Value null at 'principal'" in raised.value.message


@pytest.mark.parametrize(
    ("path", "query", "body"),
    [
        ("/attached-policies/t", "pageSize=ten", b""),
        ("/attached-policies/t", "recursive=maybe", b""),
        ("/attached-policies/t", "pageSize=99999999999", b""),
        ("/policies/p", "", b"{not json"),
        ("/policies/p", "", b"[1, 2]"),
        ("/policies/p", "", b'{"policyDocument": 5}'),
        ("/policies/p", "", b'{"policyDocument": "d", "tags": {"Key": "k"}}'),
        ("/policies/p", "", b"\xff\xfe"),
    ],
)
def test_unconvertible_input_is_a_serialization_error(path: str, query: str, body: bytes) -> None:
    with pytest.raises(AwsError) as raised:
        parse_request("iot", HttpRequest("POST", path, query, [], body))
    assert (raised.value.code, raised.value.status) == ("SerializationException", 400)


def test_response_status_headers_and_raw_payloads() -> None:
    created = serialize_response(
        "lambda", "CreateFunction", {"FunctionName": "f", "Runtime": "python3.12"}, "r"
    )
    assert created.status == 201
    assert json.loads(created.body) == {"FunctionName": "f", "Runtime": "python3.12"}
    deleted = serialize_response("lambda", "DeleteFunction", {"StatusCode": 204}, "r")
    assert (deleted.status, deleted.body) == (204, b"")
    invoked = serialize_response(
        "lambda", "Invoke", {"StatusCode": 200, "FunctionError": "Unhandled", "Payload": b'{"x":1}'}, "r"
    )
    assert invoked.header("X-Amz-Function-Error") == "Unhandled"
    assert invoked.body == b'{"x":1}'
    shadow = serialize_response("iot-data", "GetThingShadow", {"payload": b'{"state":{}}'}, "r")
    assert shadow.body == b'{"state":{}}'
    empty = serialize_response("iot", "DeletePolicy", {}, "r")
    assert (empty.status, empty.body) == (200, b"")


def test_header_lists_honour_quoting() -> None:
    assert split_header_list('a, "b,c", "d\\"e",f') == ["a", "b,c", 'd"e', "f"]
